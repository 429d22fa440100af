use clap::Parser;

fn main() -> zd2gc::exit::Exit {
    zd2gc::store::sqlite_init();
    let cli = match zd2gc::commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return zd2gc::commands::usage_error(e),
    };
    let color = cli.global.color;
    match zd2gc::commands::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            let exit = err.exit();
            zd2gc::commands::report_error(&err, color.into());
            exit
        }
    }
}
