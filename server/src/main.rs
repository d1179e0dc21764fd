//! The `tidemark` binary. The HTTP API, CLI flags and lifecycle arrive with the server issue;
//! until then it only reports its version.

fn main() {
    println!("tidemark {}", env!("CARGO_PKG_VERSION"));
}
