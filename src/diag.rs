//! Diagnostics that point at a line of a user's file: a rejected export row, a bad mapping-table row,
//! a configuration key. They carry a stable code, a message, a help line and `file:line`, and render
//! with miette showing the offending line and a label under the offending text.

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::fmt;

/// One problem in one place of one input file.
#[derive(Debug, Clone, Serialize)]
pub struct SourceDiag {
    /// Stable kebab-case code (a validation rule id where one applies, e.g. `malformed-row`).
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    /// The file, relative to the directory it was read from.
    pub file: String,
    /// 1-based physical line.
    pub line: u64,
    /// The text of the line (or record) as written, lossily decoded; used to render the snippet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Byte range inside `text` to underline, with its label.
    #[serde(skip)]
    pub span: Option<(usize, usize, String)>,
}

impl SourceDiag {
    pub fn new(code: &str, file: impl Into<String>, line: u64, message: impl Into<String>) -> Self {
        SourceDiag {
            code: code.to_string(),
            message: message.into(),
            help: None,
            file: file.into(),
            line,
            text: None,
            span: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Underline `needle` inside the text (first occurrence), or the whole text when not found.
    pub fn label_text(mut self, needle: &str, label: impl Into<String>) -> Self {
        if let Some(t) = &self.text {
            let (start, len) = match (needle.is_empty(), t.find(needle)) {
                (false, Some(i)) => (i, needle.len()),
                _ => (0, t.len()),
            };
            self.span = Some((start, len, label.into()));
        }
        self
    }
}

impl fmt::Display for SourceDiag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for SourceDiag {}

impl Diagnostic for SourceDiag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.text.as_ref().map(|t| t as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (s, l, label) = self.span.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label.clone()),
            SourceSpan::from((*s, *l)),
        ))))
    }
}

/// Source text of one line presented as if it were line `line` of `file` (so miette prints the real
/// file name and line number).
struct LineSource {
    named: NamedSource<String>,
    line: u64,
}

impl miette::SourceCode for LineSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.named.read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.named.name().to_string(),
            inner.data(),
            *inner.span(),
            inner.line() + self.line.saturating_sub(1) as usize,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Render a diagnostic to a string the way the terminal shows it (graphical, with the snippet).
pub fn render(d: &SourceDiag, color: bool) -> String {
    let handler = miette::GraphicalReportHandler::new_themed(if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_width(110);
    let wrapped = WithSource {
        d,
        src: d.text.as_ref().map(|t| LineSource {
            named: NamedSource::new(d.file.clone(), t.clone()),
            line: d.line,
        }),
    };
    let mut out = String::new();
    let _ = handler.render_report(&mut out, &wrapped);
    out
}

struct WithSource<'a> {
    d: &'a SourceDiag,
    src: Option<LineSource>,
}
impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}
impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.d, f)
    }
}
impl std::error::Error for WithSource<'_> {}
impl Diagnostic for WithSource<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.d.code()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Diagnostic::help(self.d)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.d.labels()
    }
}
