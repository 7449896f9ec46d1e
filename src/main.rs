//! The `statmon` multi-call binary; see [`statmon::multicall`].

fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| "statmon".into());
    std::process::exit(statmon::multicall::run(&argv0, args.collect()));
}
