//! nfs.conf parsing: arbitrary bytes (as lossy UTF-8), with every include
//! answered by the same text, never panic, stay within the include bound,
//! and sort `.d` names by a consistent order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::daemon::nfsconf::{self, Included, NfsConf};
use std::cmp::Ordering;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    let (conf, warnings) = NfsConf::parse(&text);
    assert!(warnings.iter().all(|w| w.line.is_some_and(|n| n <= lines)));

    let mut reads = 0;
    let mut read = |_: &Path| {
        reads += 1;
        Included::Text(text.to_string())
    };
    let (with_includes, _) = NfsConf::parse_with(&text, Path::new("/etc/nfs.conf"), &mut read);
    assert!(reads <= nfsconf::MAX_INCLUDES);
    if reads == 0 {
        // No include was read: the same as not following them, for the
        // same file (`parse` names no file, so compare like with like).
        let mut refuse = |_: &Path| Included::Failed("not read".into());
        let (unfollowed, _) = NfsConf::parse_with(&text, Path::new("/etc/nfs.conf"), &mut refuse);
        assert_eq!(with_includes, unfollowed);
        assert_eq!(with_includes.assignments("").count(), conf.assignments("").count());
    }
    for key in ["port", "name", "no-notify"] {
        let _ = conf.get_expanded("statd", key, &|_| None);
        let _ = conf.get_bool("statd", key);
    }

    let (a, b) = data.split_at(data.len() / 2);
    let ab = nfsconf::version_cmp(a, b);
    assert_eq!(ab, nfsconf::version_cmp(b, a).reverse());
    assert_eq!(ab == Ordering::Equal, a == b);
});
