//! Disguised keys: cut into joined literals, written as character codes, rot13,
//! reversed, and those combined with encodings, found through the real binary; and
//! the lookalikes that must give nothing.

use serde_json::Value;

use crate::util::keys::{self, base64};
use crate::util::TestEnv;

fn rot13(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => char::from((c as u8 - b'a' + 13) % 26 + b'a'),
            'A'..='Z' => char::from((c as u8 - b'A' + 13) % 26 + b'A'),
            _ => c,
        })
        .collect()
}

/// Cuts `text` into pieces of the given lengths (the last takes the rest).
fn cut<'a>(text: &'a str, lengths: &[usize]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut at = 0;
    for &n in lengths {
        out.push(&text[at..at + n]);
        at += n;
    }
    out.push(&text[at..]);
    out
}

fn quoted(pieces: &[&str], q: char) -> Vec<String> {
    pieces.iter().map(|p| format!("{q}{p}{q}")).collect()
}

fn scan(env: &TestEnv) -> Vec<Value> {
    let out = env
        .keygate()
        .args(["scan", "--format", "json", "--show-secrets", "."])
        .output()
        .expect("keygate runs");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    doc["findings"].as_array().expect("findings").clone()
}

fn layers(f: &Value) -> Vec<String> {
    f["decoded"]
        .as_array()
        .map(|a| a.iter().map(|l| l.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Every construction of the table in the issue: each file holds one key, found
/// whole under its own rule, with the transforms named and the plain key's
/// fingerprint, starting at the key's first character in its first literal.
#[test]
fn every_disguise_is_seen_through() {
    let env = TestEnv::new();
    let key = |seed| keys::openai_project(seed);
    let codes = |k: &str, sep: &str| -> String {
        k.bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let mut cases: Vec<(&str, String, Vec<&str>)> = Vec::new();
    let k = key(201);
    cases.push((
        "plus.js",
        format!(
            "const KEY = {};\n",
            quoted(&cut(&k, &[10, 20]), '"').join(" + ")
        ),
        vec!["join"],
    ));
    let k = key(202);
    cases.push((
        "adjacent.py",
        format!(
            "KEY = (\n    {}\n)\n",
            quoted(&cut(&k, &[12, 17]), '\'').join("\n    ")
        ),
        vec!["join"],
    ));
    let k = key(203);
    // The OpenAI marker cut in two: `…KT3` + `BlbkFJ…`.
    let marker = k.find("T3BlbkFJ").unwrap() + 2;
    cases.push((
        "marker.go",
        format!("var key = \"{}\" +\n\t\"{}\"\n", &k[..marker], &k[marker..]),
        vec!["join"],
    ));
    let k = key(204);
    cases.push((
        "array.js",
        format!(
            "const key = [{}].join('');\n",
            quoted(&cut(&k, &[7, 7, 7, 7]), '\'').join(", ")
        ),
        vec!["join"],
    ));
    let k = key(205);
    let enc = base64(k.as_bytes());
    // Chunk lengths that ignore base64's groups of four.
    cases.push((
        "chunks.js",
        format!(
            "const k = atob({});\n",
            quoted(&cut(&enc, &[5, 11, 13]), '"').join(" + ")
        ),
        vec!["join", "base64"],
    ));
    let k = key(206);
    cases.push((
        "codes.py",
        format!("KEY = bytes([{}]).decode()\n", codes(&k, ", ")),
        vec!["charcodes"],
    ));
    let k = key(207);
    cases.push((
        "codes.js",
        format!(
            "const k = String.fromCharCode(\n  {}\n);\n",
            codes(&k, ",\n  ")
        ),
        vec!["charcodes"],
    ));
    let k = key(208);
    let hexcodes: Vec<String> = k.bytes().map(|b| format!("0x{b:02x}")).collect();
    cases.push((
        "codes.c",
        format!("static const char k[] = {{{}, 0}};\n", hexcodes.join(", ")),
        vec!["charcodes"],
    ));
    let k = key(209);
    cases.push((
        "rot13.py",
        format!("KEY = codecs.decode(\"{}\", \"rot13\")\n", rot13(&k)),
        vec!["rot13"],
    ));
    let k = key(210);
    let reversed: String = k.chars().rev().collect();
    cases.push((
        "reverse.js",
        format!("const k = '{reversed}'.split('').reverse().join('');\n"),
        vec!["reverse"],
    ));
    let k = key(211);
    let reversed_b64: String = base64(k.as_bytes()).chars().rev().collect();
    cases.push((
        "reverse64.js",
        format!("const k = atob('{reversed_b64}'.split('').reverse().join(''));\n"),
        vec!["reverse", "base64"],
    ));
    let k = key(212);
    let hex: String = k.bytes().map(|b| format!("{b:02x}")).collect();
    cases.push((
        "hexpieces.py",
        format!(
            "KEY = bytes.fromhex({})\n",
            quoted(&cut(&hex, &[20, 40]), '"').join(" + ")
        ),
        vec!["join", "hex"],
    ));
    let k = key(213);
    let x: String = k.bytes().map(|b| format!("\\x{b:02x}")).collect();
    cases.push((
        "xpieces.c",
        format!(
            "char *k = {};\n",
            quoted(&cut(&x, &[40, 80]), '"').join("\n  ")
        ),
        vec!["join", "escape"],
    ));
    let k = key(214);
    let map =
        base64(format!("{{\"version\":3,\"sourcesContent\":[\"const k = '{k}';\"]}}").as_bytes());
    cases.push((
        "app.js",
        format!("x();\n//# sourceMappingURL=data:application/json;base64,{map}\n"),
        vec!["base64"],
    ));
    let k = key(215);
    let html: String = k.bytes().map(|b| format!("&#{b};")).collect();
    cases.push((
        "page.html",
        format!("<meta content=\"{html}\">\n"),
        vec!["html"],
    ));
    // Each piece base64-encoded and padded on its own, inside calls of its own.
    let k = key(216);
    let (head, tail) = k.split_at(8);
    cases.push((
        "pieces.js",
        format!(
            "const k = atob(\"{}\") + atob(\"{}\");\n",
            base64(head.as_bytes()),
            base64(tail.as_bytes())
        ),
        vec!["join", "base64"],
    ));

    for (file, content, _) in &cases {
        env.write(file, content);
    }
    let found = scan(&env);
    for (seed, (file, _, want)) in (201..).zip(&cases) {
        let k = key(seed);
        let here: Vec<&Value> = found
            .iter()
            .filter(|f| f["path"] == format!("./{file}"))
            .collect();
        assert_eq!(here.len(), 1, "{file}: {here:#?}");
        let f = here[0];
        assert_eq!(f["rule_id"], "openai.project-key", "{file}");
        assert_eq!(f["secret"], k.as_str(), "{file}");
        assert_eq!(layers(f), *want, "{file}");
        assert_eq!(
            f["fingerprint"],
            keygate::finding::fingerprint("openai.project-key", &k),
            "{file}"
        );
    }
    assert_eq!(found.len(), cases.len(), "{found:#?}");

    // Location: a joined key starts at its first literal and ends in its last.
    let plus = found.iter().find(|f| f["path"] == "./plus.js").unwrap();
    let line = &cases[0].1;
    assert_eq!(
        plus["column"].as_u64(),
        Some(line.find("sk-").unwrap() as u64 + 1)
    );
    assert_eq!(
        plus["end_column"].as_u64(),
        Some(line.rfind('"').unwrap() as u64 + 1)
    );
    let adjacent = found.iter().find(|f| f["path"] == "./adjacent.py").unwrap();
    assert_eq!(
        (adjacent["line"].as_u64(), adjacent["end_line"].as_u64()),
        (Some(2), Some(4))
    );
}

/// Lookalikes give nothing: pixel data and tables of numbers, rot13 and reversed
/// text that is no key, and concatenations that only resemble one.
#[test]
fn lookalikes_give_nothing() {
    let env = TestEnv::new();
    let pixels: Vec<String> = (0..400u32)
        .map(|i| ((i * 37 + 115) % 256).to_string())
        .collect();
    env.write(
        "image.js",
        format!("const pixels = [{}];\n", pixels.join(", ")),
    );
    let table: Vec<String> = (0..64u32).map(|i| (115 + i % 12).to_string()).collect();
    env.write(
        "table.c",
        format!("static int t[] = {{{}}};\n", table.join(", ")),
    );
    env.write(
        "rot.txt",
        format!("{}\n", rot13("sk-this-is-just-a-sentence-in-kebab-case")),
    );
    env.write("rev.txt", "gnirts-desrever-a-tsuj-si-siht-ks\n");
    env.write("concat.js", "const k = \"sk-\" + process.env.KEY;\nconst t = \"sk-proj-\" + \"${OPENAI_KEY}\";\nconst u = [\"sk-a\", \"sk-b\"];\n");
    env.write(
        "vectors.py",
        "VECTORS = [\n    b\"\\x73\\x6b\\x2d\",\n    b\"\\x00\\x01\\x02\",\n]\n",
    );
    let found = scan(&env);
    assert!(found.is_empty(), "{found:#?}");
}
