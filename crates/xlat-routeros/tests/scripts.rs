//! Structural lint of `routeros-scripts/*.rsc`. RouterOS cannot run here,
//! so the scripts are checked the way the console would reject them:
//!
//! - braces, brackets and parentheses balance and nest; strings close;
//!   comments and line continuations are understood;
//! - every `$variable` (outside `\$` escapes) is declared in the file by
//!   `:global`, `:local`, `:for` or `:foreach`; every `:global` gets a value
//!   and sits at the top, before the first command, and is used;
//! - every command path (`/interface/veth/add`) is a known menu and verb,
//!   and every `name=` argument of `add` / `set` and of commands is a
//!   property of that menu in the model below;
//! - every `add` of an install script carries a comment, and its menu is
//!   cleaned up (`remove`) by the matching remove script.
//!
//! The menu model comes from the RouterOS manual: Container
//! (<https://help.mikrotik.com/docs/spaces/ROS/pages/84901929/Container>:
//! `/interface/veth` `name address gateway gateway6`, `/container/envs`,
//! `/container/add file interface envlists root-dir logging start-on-boot`,
//! `/container/start`), Filter
//! (<https://help.mikrotik.com/docs/spaces/ROS/pages/48660574/Filter>),
//! Bridging and Switching (`/interface/bridge`, `/interface/bridge/port`
//! `bridge interface`), IP Addressing and IPv6 Addressing (`address
//! interface advertise`), User (`/user` `name group password address`,
//! `/user/group` `name policy`), Scheduler (`name interval on-event`),
//! Fetch (`url output as-value`), IP Routing (`/ip/route` `enable`,
//! `disable`), Scripting (`:global`, `:local`, `:foreach`, `:while`,
//! `:do {} on-error={}`, `->` and the `~` regex operator).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Menus, the verbs used on them, and the properties `add`/`set` accept.
const MODEL: &[(&str, &[&str], &[&str])] = &[
    (
        "/interface/bridge",
        &["add", "remove", "find", "print"],
        &["name", "comment", "disabled", "protocol-mode", "mtu"],
    ),
    (
        "/interface/bridge/port",
        &["add", "remove", "find", "print"],
        &["bridge", "interface", "comment", "disabled", "pvid"],
    ),
    (
        "/interface/veth",
        &["add", "remove", "find", "print", "set"],
        &["name", "address", "gateway", "gateway6", "comment", "disabled"],
    ),
    ("/ip/address", &["add", "remove", "find", "print"], &["address", "interface", "network", "comment", "disabled"]),
    (
        "/ipv6/address",
        &["add", "remove", "find", "print"],
        &["address", "interface", "advertise", "eui-64", "from-pool", "no-dad", "comment", "disabled"],
    ),
    (
        "/container",
        &["add", "remove", "find", "get", "print", "set", "start", "stop"],
        &[
            "name",
            "file",
            "remote-image",
            "interface",
            "envlists",
            "mountlists",
            "root-dir",
            "logging",
            "start-on-boot",
            "memory-high",
            "cmd",
            "entrypoint",
            "workdir",
            "dns",
            "hostname",
            "comment",
        ],
    ),
    ("/container/envs", &["add", "remove", "find", "print", "set"], &["list", "key", "value", "comment"]),
    ("/container/mounts", &["add", "remove", "find", "print"], &["list", "src", "dst", "comment"]),
    ("/user", &["add", "remove", "find", "print"], &["name", "group", "password", "address", "comment", "disabled"]),
    ("/user/group", &["add", "remove", "find", "print"], &["name", "policy", "skin", "comment"]),
    (
        "/ip/firewall/filter",
        &["add", "remove", "find", "print"],
        &[
            "chain",
            "action",
            "protocol",
            "dst-port",
            "src-port",
            "src-address",
            "dst-address",
            "in-interface",
            "out-interface",
            "in-interface-list",
            "out-interface-list",
            "connection-state",
            "src-address-list",
            "dst-address-list",
            "comment",
            "place-before",
            "disabled",
            "log",
            "log-prefix",
        ],
    ),
    ("/ipv6/firewall/filter", &["remove", "find", "print"], &[]),
    ("/ip/firewall/nat", &["remove", "find", "print"], &[]),
    ("/ip/firewall/mangle", &["remove", "find", "print"], &[]),
    ("/ipv6/firewall/mangle", &["remove", "find", "print"], &[]),
    ("/ip/firewall/address-list", &["remove", "find", "print"], &[]),
    ("/ipv6/firewall/address-list", &["remove", "find", "print"], &[]),
    ("/ip/dhcp-server/option", &["remove", "find", "print"], &[]),
    ("/ip/route", &["remove", "find", "print", "enable", "disable"], &[]),
    ("/ipv6/route", &["remove", "find", "print", "enable", "disable"], &[]),
    (
        "/system/scheduler",
        &["add", "remove", "find", "print"],
        &["name", "interval", "on-event", "start-time", "policy", "comment", "disabled"],
    ),
    ("/system/script/environment", &["remove", "find", "print"], &[]),
];

/// Commands that are not menu verbs, with their arguments.
const COMMANDS: &[(&str, &[&str])] =
    &[("/tool/fetch", &["url", "output", "as-value", "mode", "dst-path", "check-certificate"])];

/// Console commands (`:put`) the scripts may use.
const SCRIPT_COMMANDS: &[&str] = &[
    ":global", ":local", ":set", ":put", ":if", ":while", ":for", ":foreach", ":do", ":delay", ":error", ":log",
    ":len", ":typeof", ":pick", ":find",
];

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../routeros-scripts")
}

fn scripts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(scripts_dir())
        .expect("routeros-scripts/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rsc"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A word; `glued` when no space separates it from the token before.
    Word {
        text: String,
        glued: bool,
    },
    /// A string's content (escapes kept), `glued` likewise.
    Str {
        text: String,
        glued: bool,
    },
    Open(char),
    Close(char),
    /// End of a command: newline or `;`.
    End,
}

struct Lexed {
    toks: Vec<(Tok, usize)>,
    /// `$name` uses with their lines (words and strings).
    uses: Vec<(String, usize)>,
}

fn var_name(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
        name.push(chars[i]);
        i += 1;
    }
    (name, i)
}

/// Tokenises a script; errors name the line.
fn lex(src: &str) -> Result<Lexed, String> {
    let chars: Vec<char> = src.chars().collect();
    let (mut toks, mut uses, mut stack) = (Vec::new(), Vec::new(), Vec::<(char, usize)>::new());
    let (mut i, mut line, mut glued) = (0, 1, false);
    let mut at_token_start = true;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                toks.push((Tok::End, line));
                line += 1;
                i += 1;
                glued = false;
                at_token_start = true;
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
                glued = false;
            }
            '#' if at_token_start => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ' ' | '\t' | '\r' => {
                i += 1;
                glued = false;
                at_token_start = true;
            }
            ';' => {
                toks.push((Tok::End, line));
                i += 1;
                glued = false;
                at_token_start = true;
            }
            '(' | '[' | '{' => {
                stack.push((c, line));
                toks.push((Tok::Open(c), line));
                i += 1;
                glued = true;
                at_token_start = true;
            }
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    Some((open, l)) => return Err(format!("line {line}: {c} closes {open} of line {l}")),
                    None => return Err(format!("line {line}: {c} without an opening {want}")),
                }
                toks.push((Tok::Close(c), line));
                i += 1;
                glued = true;
                at_token_start = false;
            }
            '"' => {
                let start = line;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {start}: unterminated string")),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let next = *chars.get(i + 1).ok_or(format!("line {line}: escape at end of file"))?;
                            if next == '\n' {
                                line += 1;
                            }
                            text.push('\\');
                            text.push(next);
                            i += 2;
                        }
                        Some('$') => {
                            let (name, j) = var_name(&chars, i + 1);
                            if !name.is_empty() {
                                uses.push((name, line));
                            }
                            text.push('$');
                            i += 1;
                            let _ = j;
                        }
                        Some('\n') => return Err(format!("line {line}: newline inside a string (use \\n)")),
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push((Tok::Str { text, glued }, start));
                glued = true;
                at_token_start = false;
            }
            _ => {
                let mut text = String::new();
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '\t' | '\r' | '\n' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '"')
                {
                    if chars[i] == '$' {
                        let (name, _) = var_name(&chars, i + 1);
                        if !name.is_empty() {
                            uses.push((name, line));
                        }
                    }
                    text.push(chars[i]);
                    i += 1;
                }
                toks.push((Tok::Word { text, glued }, line));
                glued = true;
                at_token_start = false;
            }
        }
    }
    if let Some((open, l)) = stack.pop() {
        return Err(format!("line {l}: {open} never closed"));
    }
    Ok(Lexed { toks, uses })
}

/// One console command found in a script: its path, and its arguments at
/// the command's own nesting level.
#[derive(Debug)]
struct Cmd {
    path: String,
    line: usize,
    /// `name` of each `name=value` argument, and bare words.
    args: Vec<String>,
    /// The value of `comment=`, if any.
    comment: Option<String>,
}

fn commands(toks: &[(Tok, usize)]) -> Vec<Cmd> {
    let mut out = Vec::new();
    for (i, (t, line)) in toks.iter().enumerate() {
        let Tok::Word { text, .. } = t else { continue };
        if !text.starts_with('/') || text.contains('=') {
            continue;
        }
        let at_start = i == 0 || matches!(toks[i - 1].0, Tok::End | Tok::Open('{') | Tok::Open('[') | Tok::Open('('));
        if !at_start {
            continue;
        }
        let mut cmd = Cmd { path: text.clone(), line: *line, args: Vec::new(), comment: None };
        let mut depth = 0usize;
        let mut j = i + 1;
        while j < toks.len() {
            match &toks[j].0 {
                Tok::End if depth == 0 => break,
                Tok::Open(_) => depth += 1,
                Tok::Close(_) if depth == 0 => break,
                Tok::Close(_) => depth -= 1,
                Tok::Word { text, glued } if depth == 0 && !glued => {
                    let name = text.split('=').next().unwrap_or_default().to_owned();
                    if name == "comment" {
                        cmd.comment = match toks.get(j + 1) {
                            Some((Tok::Str { text: s, glued: true }, _)) => Some(s.clone()),
                            _ => text.split_once('=').map(|(_, v)| v.to_owned()),
                        };
                    }
                    if !name.starts_with('$') && !name.is_empty() {
                        cmd.args.push(name);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        out.push(cmd);
    }
    out
}

fn split_path(path: &str) -> (String, String) {
    let (menu, verb) = path.rsplit_once('/').unwrap_or(("", path));
    (menu.to_owned(), verb.to_owned())
}

fn lint(name: &str, src: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let lexed = match lex(src) {
        Ok(l) => l,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let toks = &lexed.toks;

    // Declarations.
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut globals: BTreeMap<String, usize> = BTreeMap::new();
    let first_command = toks.iter().find_map(|(t, l)| match t {
        Tok::Word { text, .. } if text.starts_with('/') => Some(*l),
        _ => None,
    });
    for w in toks.windows(3) {
        if let (Tok::Word { text: kw, .. }, Tok::Word { text: var, .. }) = (&w[0].0, &w[1].0) {
            if matches!(kw.as_str(), ":global" | ":local" | ":for" | ":foreach") {
                declared.insert(var.clone());
            }
            if kw == ":global" {
                globals.insert(var.clone(), w[0].1);
                if matches!(w[2].0, Tok::End) {
                    errors.push(format!("{name}:{}: :global {var} has no value", w[0].1));
                }
                if first_command.is_some_and(|c| w[0].1 > c) {
                    errors
                        .push(format!("{name}:{}: :global {var} is not at the top, before the first command", w[0].1));
                }
            }
        }
    }
    for (var, line) in &lexed.uses {
        if !declared.contains(var) {
            errors.push(format!("{name}:{line}: ${var} is not declared (:global / :local)"));
        }
    }
    for (g, line) in &globals {
        if !lexed.uses.iter().any(|(u, _)| u == g) {
            errors.push(format!("{name}:{line}: :global {g} is never used"));
        }
    }
    // Script commands.
    for (t, line) in toks {
        if let Tok::Word { text, glued: false } = t {
            if text.starts_with(':') && text.len() > 1 && !SCRIPT_COMMANDS.contains(&text.as_str()) {
                errors.push(format!("{name}:{line}: unknown script command {text}"));
            }
        }
    }
    // Menu commands.
    for cmd in commands(toks) {
        if let Some((_, args)) = COMMANDS.iter().find(|(p, _)| *p == cmd.path) {
            for a in &cmd.args {
                if !args.contains(&a.as_str()) {
                    errors.push(format!("{name}:{}: {} has no argument {a}", cmd.line, cmd.path));
                }
            }
            continue;
        }
        let (menu, verb) = split_path(&cmd.path);
        let Some((_, verbs, props)) = MODEL.iter().find(|(m, _, _)| *m == menu) else {
            errors.push(format!("{name}:{}: unknown menu {menu} ({})", cmd.line, cmd.path));
            continue;
        };
        if !verbs.contains(&verb.as_str()) {
            errors.push(format!("{name}:{}: {menu} has no verb {verb} in the model", cmd.line));
            continue;
        }
        if verb == "add" || verb == "set" {
            for a in &cmd.args {
                if !props.contains(&a.as_str()) {
                    errors.push(format!("{name}:{}: {menu} has no property {a}", cmd.line));
                }
            }
        }
        if verb == "add" && name.ends_with("-install.rsc") && cmd.comment.is_none() {
            errors.push(format!("{name}:{}: {menu} add without a comment: the remove script cannot find it", cmd.line));
        }
    }
    errors
}

#[test]
fn every_script_passes_the_lint() {
    let all = scripts();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for role in ["clat", "plat"] {
        for kind in ["install", "check", "remove"] {
            let f = format!("{role}-{kind}.rsc");
            assert!(names.contains(&f.as_str()), "routeros-scripts/{f} missing");
        }
    }
    let errors: Vec<String> = all.iter().flat_map(|(n, s)| lint(n, s)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn install_objects_are_removed_by_the_remove_script() {
    let all: BTreeMap<String, String> = scripts().into_iter().collect();
    for role in ["clat", "plat"] {
        let install = lex(&all[&format!("{role}-install.rsc")]).unwrap();
        let remove = lex(&all[&format!("{role}-remove.rsc")]).unwrap();
        let removed: BTreeSet<String> = commands(&remove.toks)
            .iter()
            .filter(|c| c.path.ends_with("/remove"))
            .map(|c| split_path(&c.path).0)
            .collect();
        for cmd in commands(&install.toks).iter().filter(|c| c.path.ends_with("/add")) {
            let menu = split_path(&cmd.path).0;
            assert!(
                removed.contains(&menu),
                "{role}-install.rsc:{} adds to {menu}; {role}-remove.rsc never removes there",
                cmd.line
            );
            let tag = format!("xlat-install:{role}");
            assert_eq!(cmd.comment.as_deref(), Some(tag.as_str()), "{role}-install.rsc:{}", cmd.line);
        }
        // The remove script cleans up what the daemon provisioned, too.
        for menu in ["/ip/route", "/ipv6/route", "/ip/firewall/filter", "/ipv6/firewall/filter"] {
            assert!(removed.contains(menu), "{role}-remove.rsc: {menu}");
        }
    }
}

#[test]
fn the_lint_catches_mistakes() {
    let bad = [
        ("unbalanced", "/ip/address/add address=1.2.3.4/24 interface=x comment=\"x\"\n{ :put 1\n", "never closed"),
        ("crossed", ":put [ ( ] )\n", "closes"),
        ("string", ":put \"abc\n", "newline inside a string"),
        ("undeclared", ":global a \"1\"\n:put $a\n:put $b\n", "$b is not declared"),
        ("late global", "/ip/route/print\n:global late \"x\"\n:put $late\n", "not at the top"),
        ("no value", ":global g\n:put $g\n", "has no value"),
        ("unused", ":global u \"1\"\n", "never used"),
        ("menu", "/ip/bogus/add x=1\n", "unknown menu"),
        ("property", "/interface/veth/add name=v adress=1.2.3.4/24 comment=\"x\"\n", "no property adress"),
        ("verb", "/container/frobnicate\n", "no verb frobnicate"),
        ("comment", "/interface/bridge/add name=b\n", "without a comment"),
        ("script command", ":frob 1\n", "unknown script command"),
    ];
    for (what, src, expect) in bad {
        let errors = lint("test-install.rsc", src);
        assert!(errors.iter().any(|e| e.contains(expect)), "{what}: expected {expect:?} in {errors:?}");
    }
    // Escaped variables inside strings are text, not uses.
    assert!(lint("x.rsc", ":put \"\\$notavar\"\n").is_empty());
    // Continuation lines and comments.
    assert!(lint("x.rsc", "# a comment with $x and ( unbalanced\n:put \\\n  \"ok\"\n").is_empty());
}

#[test]
fn the_lint_sees_every_command() {
    for (name, src) in scripts() {
        let lexed = lex(&src).unwrap();
        let cmds = commands(&lexed.toks);
        let lines_with_commands = src
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with('/') || t.contains(" [/") || t.contains("([/") || t.contains("[/")
            })
            .count();
        assert!(cmds.len() >= lines_with_commands, "{name}: {} commands for {lines_with_commands} lines", cmds.len());
        assert!(!lexed.uses.is_empty(), "{name}");
    }
}
