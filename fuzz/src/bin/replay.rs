//! `replay TARGET PATH..`: runs one target on files or folders of inputs without AFL (a corpus,
//! or a crash AFL found), exiting non-zero on a panic.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, paths)) = args.split_first() else {
        eprintln!("usage: replay TARGET PATH..");
        std::process::exit(2);
    };
    let paths: Vec<std::path::PathBuf> = paths.iter().map(Into::into).collect();
    match tnet_fuzz::replay(name, &paths) {
        Ok(n) => println!("{name}: {n} inputs, no crash"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
