use super::*;

/// Reads `text` with `read` and returns each problem as "line L, column
/// C: message".
fn problems<T>(text: &str, read: impl FnOnce(Table<'_>, &mut Report<'_>) -> T) -> Vec<String> {
    match read_text("test.toml", text, read) {
        Ok(_) => Vec::new(),
        Err(error) => error.issues.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn nested_tables_named_by_their_path() {
    let found = problems(
        "[http]\nport = 1\n[[sink]]\nname = \"a\"\nroute = { level = 1 }\n",
        |mut top, report| {
            if let Some(http) = top.table(report, "http") {
                http.finish(report);
            }
            for mut sink in top.tables(report, "sink") {
                sink.string(report, "name");
                if let Some(route) = sink.table(report, "route") {
                    route.finish(report);
                }
                sink.finish(report);
            }
            top.finish(report);
        },
    );
    assert_eq!(
        found,
        [
            "line 2, column 1: unknown key `port` in [http]; the table takes no keys",
            "line 5, column 11: unknown key `level` in `route` of [[sink]] \"a\"; the table takes no keys",
        ]
    );
}

#[test]
fn peek_leaves_key_to_its_reader() {
    let found = problems("name = \"a\"\nextra = 1\n", |mut top, report| {
        let peeked = top.peek_string("name").map(Spanned::into_inner);
        assert_eq!(peeked.as_deref(), Some("a"));
        assert_eq!(top.peek_string("extra"), None);
        assert_eq!(
            top.string(report, "name").map(Spanned::into_inner).as_deref(),
            Some("a")
        );
        assert_eq!(top.places(), [("name", 7..10)]);
        top.finish(report);
    });
    assert_eq!(
        found,
        ["line 2, column 1: unknown key `extra` at the top level; valid keys: `name`"]
    );
}

#[test]
fn ignored_table_reports_no_unknown_key() {
    let found = problems("kind = \"kafka\"\nbrokers = []\n", |mut top, report| {
        top.string(report, "kind");
        top.ignore_unknown();
        top.finish(report);
    });
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn string_map_keeps_strings_only() {
    let mut entries = Vec::new();
    let found = problems("headers = { A = \"1\", B = 2 }\n", |mut top, report| {
        entries = top
            .string_map(report, "headers")
            .map(Spanned::into_inner)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name.into_inner(), value.into_inner()))
            .collect();
        assert_eq!(top.wrong_type(), ["headers"]);
    });
    assert_eq!(entries, [("A".to_owned(), "1".to_owned())]);
    assert_eq!(
        found,
        [
            "line 1, column 26: `headers` at the top level must be a table of strings, found an integer in it: 2"
        ]
    );
}

#[test]
fn value_checks_record_at_value() {
    let found = problems("port = 70000\nlevel = 0\nmode = \"fast\"\n", |mut top, report| {
        let port = top.integer(report, "port");
        let level = top.integer(report, "level");
        let mode = top.string(report, "mode");
        assert_eq!(
            port.and_then(|port| report.integer_range("port", &port, 1, u16::MAX)),
            None
        );
        assert_eq!(
            level.and_then(|level| report.integer_range("level", &level, 1, u8::MAX)),
            None
        );
        let modes = [("slow", 1), ("safe", 2), ("off", 3)];
        assert_eq!(mode.and_then(|mode| report.one_of("mode", &mode, &modes)), None);
    });
    assert_eq!(
        found,
        [
            "line 1, column 8: port = 70000 is too large; the maximum is 65535",
            "line 2, column 9: level must be at least 1",
            "line 3, column 8: mode = \"fast\" is not valid; use \"slow\", \"safe\" or \"off\"",
        ]
    );
}

#[test]
fn unquoted_text_value_hint() {
    let found = problems("[http]\nlisten = 127.0.0.1:1\n", |top, report| top.finish(report));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("line 2"), "{found:?}");
    assert!(
        found[0].ends_with("a text value needs quotes, for example listen = \"127.0.0.1:1\""),
        "{found:?}"
    );
    // A malformed table header gets no such hint.
    let found = problems("[http\n", |top, report| top.finish(report));
    assert!(!found[0].contains("needs quotes"), "{found:?}");
}
