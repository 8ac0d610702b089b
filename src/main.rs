//! The `tcpgoon` binary: everything lives in the library; this only hands over the arguments
//! and returns the exit code.

fn main() {
    std::process::exit(tcpgoon::app::main_with_args(std::env::args_os()));
}
