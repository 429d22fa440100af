use clap::Parser;

fn main() -> zd2gc::exit::Exit {
    zd2gc::db::sqlite_init();
    let cli = match zd2gc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return zd2gc::cli::usage_error(e),
    };
    let color = cli.global.color;
    match zd2gc::cli::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            let exit = err.exit();
            zd2gc::report_error(&err, color);
            exit
        }
    }
}
