//! A rough reading of a Jinja chat template for sandbox escapes.
//!
//! Only the code inside `{{ }}` and `{% %}` tags is looked at (literal text, `{# #}` comments
//! and `{% raw %}` blocks are not code). Each tag is split into identifiers, string literals
//! (escapes decoded), numbers and punctuation ([`super::template_lex`]), and a tag is flagged
//! when it reaches for what a sandbox escape needs:
//!
//! - a private or dunder attribute (`x.__class__`, `self._TemplateReference__context`), a
//!   dunder name, or a dunder spelled in a string (`x['__globals__']`, `'{0.__class__}'`);
//! - the `attr` filter, which fetches an attribute by a computed name;
//! - an underscore hidden from the eye: an escape (`'\x5f'`), pieces joined at run time
//!   (`'_' ~ '_'`, `'_' * 2`, `['_','_']|join`, adjacent literals, a variable that holds `'_'`),
//!   `'%c'|format(95)`, keyword-argument names (`dict(__cla=1, ss__=1)|join`), characters picked
//!   out of an object's printed form (`(()|select|string)[24]`);
//! - the attributes of the Jinja and Flask globals whose internals lead to Python's globals
//!   (`cycler`, `joiner`, `namespace`, `lipsum`, `self`, `config`, `request`, …), or
//!   process-running names;
//! - `include`, `import`, `extends` and `from`, which read other template files.
//!
//! Real chat templates use none of these: `tests/fixtures/gguf/templates/` holds over a hundred
//! published ones, all clean. Identifiers that merely start with underscores (macro names such
//! as `__render_tool`) are ordinary variables and are not flagged.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;

use super::template_lex::{Token, keyword, tags, tokens};

/// Most findings reported for one template.
const MAX_HITS: usize = 10;

/// Most distinct variables remembered as holding underscores; real templates have none.
const MAX_UNDERSCORE_VARIABLES: usize = 1024;

/// One suspicious tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hit {
    /// The tag's code.
    pub(super) snippet: String,
    /// What is wrong with it, completing "the chat template … ".
    pub(super) why: &'static str,
    /// Whether the hit is a bound of the analysis, not a sandbox escape.
    pub(super) limit: bool,
}

/// Globals of the default Jinja environment (and of Flask's) whose attributes lead out.
const ESCAPE_OBJECTS: &[&str] = &[
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
    "range",
    "dict",
];

/// Names that run processes or code wherever they appear.
const PROCESS_NAMES: &[&str] = &[
    "popen",
    "subprocess",
    "import_module",
    "getattr",
    "builtins",
];

/// Names that run processes or code when called or opened.
const CALLED_NAMES: &[&str] = &["os", "eval", "exec", "system", "compile", "open"];

/// Statements that load another template by name through the environment's loader.
const LOADING_STATEMENTS: &[&str] = &["include", "import", "extends", "from"];

/// Why a tag is flagged (each completes "the chat template …").
mod why {
    /// A dunder or private attribute, or a dunder name.
    pub(super) const DUNDER: &str = "reaches a dunder or private attribute (such as __class__ or __globals__), the first step of every Jinja sandbox escape";
    /// The attr filter.
    pub(super) const ATTR: &str = "uses the attr filter, which fetches an attribute by a computed name and is how sandbox escapes hide dunder names";
    /// A Jinja or Flask global's attributes.
    pub(super) const GLOBAL: &str = "reads attributes of a Jinja global object (cycler, joiner, namespace, lipsum, self, …) whose internals lead to Python's globals";
    /// A process-running name.
    pub(super) const PROCESS: &str =
        "names a way to run a process or import a module (popen, subprocess, getattr, …)";
    /// A process-running call.
    pub(super) const CALLED: &str =
        "calls or opens os, eval, exec, system or a similar process-running name";
    /// A dunder in a string.
    pub(super) const DUNDER_STRING: &str = "spells a dunder or private name in a string (such as ['__globals__'] or '{0.__class__}'), used to reach Python internals by subscript, attr or format";
    /// An escaped underscore.
    pub(super) const ESCAPE: &str = "writes an underscore as an escape (\\x5f, \\u005f, \\137, \\N{LOW LINE}), which hides a dunder name from simple filters";
    /// Underscore pieces.
    pub(super) const PIECES: &str = "builds a name from underscore pieces ('_' ~ '_', '_' * 2, join, a variable holding '_'), which spells a dunder name at run time";
    /// Characters from codes.
    pub(super) const CHAR_CODES: &str = "makes characters from their codes ('%c'|format(95)), which spells a dunder name at run time";
    /// Keyword-argument names.
    pub(super) const KWARG: &str = "passes keyword arguments named with underscores (dict(__cla=1, ss__=1)|join), which spells a dunder name at run time";
    /// Characters out of a printed object.
    pub(super) const PRINTED: &str = "picks characters out of an object's printed form or a literal ((()|select|string)[24]), a way to get underscores past filters";
    /// A tag too long to read whole.
    pub(super) const LONG_TAG: &str = "has a tag of more than 65536 tokens, more than modelsieve reads; the rest of that tag was not judged";
    /// Too many underscore variables.
    pub(super) const MANY_VARIABLES: &str = "assigns underscores to more than 1024 variables, more than modelsieve tracks; later joins of them were not judged";
    /// Another template file.
    pub(super) const LOADS: &str = "loads another template file by name (include, import, extends, from), which reads the file system through the renderer's loader";
}

/// Checks `text`, returning the suspicious tags (one per reason, the first tag that has it).
pub(super) fn check(text: &str) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    // Variables assigned underscore pieces so far.
    let mut underscores: BTreeSet<String> = BTreeSet::new();
    for tag in tags(text) {
        let (toks, cut) = tokens(tag.code);
        let mut found = judge(&toks, &underscores).map(|why| (why, false));
        if tag.statement && LOADING_STATEMENTS.contains(&keyword(tag.code)) {
            found = found.or(Some((why::LOADS, false)));
        }
        if cut {
            found = found.or(Some((why::LONG_TAG, true)));
        }
        if underscores.len() < MAX_UNDERSCORE_VARIABLES {
            learn(&toks, &mut underscores);
        } else {
            found = found.or(Some((why::MANY_VARIABLES, true)));
        }
        if let Some((why, limit)) = found {
            if !hits.iter().any(|h| h.why == why) {
                hits.push(Hit {
                    snippet: String::from(tag.code.trim()),
                    why,
                    limit,
                });
                if hits.len() >= MAX_HITS {
                    break;
                }
            }
        }
    }
    hits
}

/// Remembers the variable that a `set` or `with` tag assigns underscore pieces
/// (`set u = '_'`, `set ns.u = '_' * 2`, `set v = u ~ 'class'`).
fn learn(toks: &[Token], underscores: &mut BTreeSet<String>) {
    let Some(eq) = toks.iter().position(|t| matches!(t, Token::Punct('='))) else {
        return;
    };
    let (target, value) = toks.split_at(eq);
    let assigns = target
        .iter()
        .any(|t| matches!(t, Token::Ident(k) if k == "set" || k == "with"));
    if !assigns || pieces(value, underscores) == 0 {
        return;
    }
    // The last name before the `=`: `u` of `set ns.u`.
    if let Some(Token::Ident(name)) = target.iter().rev().find(|t| matches!(t, Token::Ident(_))) {
        underscores.insert(name.clone());
    }
}

/// How many underscores the tag's underscore-only strings and underscore-holding variables
/// bring, counting a repeated one (`'_' * 2`) as two. One underscore joined to other text is
/// ordinary (`parts|join('_')`, `name ~ '_' ~ id`); a dunder name needs two side by side.
fn pieces(toks: &[Token], underscores: &BTreeSet<String>) -> usize {
    let mut count: usize = 0;
    for (i, t) in toks.iter().enumerate() {
        let n = match t {
            Token::Str(s, _) if is_underscores(s) => s.len(),
            Token::Ident(name) if underscores.contains(name) => 1,
            _ => continue,
        };
        let beside = |k: Option<usize>| k.and_then(|k| toks.get(k));
        let repeated = [beside(i.checked_sub(1)), beside(i.checked_add(1))]
            .iter()
            .any(|t| matches!(t, Some(Token::Punct('*'))));
        count = count.saturating_add(if repeated { n.saturating_mul(2) } else { n });
    }
    count
}

/// Longest string a constant `replace` is worked out on (attribute names are short).
const MAX_FOLDED: usize = 256;

/// Whether the tag replaces text in a literal so that it becomes a private or dunder name
/// (`'xxclassxx'|replace('x', '_')`, `'..'.replace('.', '_')`).
fn replaces_into_dunder(toks: &[Token]) -> bool {
    toks.windows(7).any(|w| {
        let [
            Token::Str(a, _),
            Token::Punct('|' | '.'),
            Token::Ident(f),
            Token::Punct('('),
            Token::Str(b, _),
            Token::Punct(','),
            Token::Str(c, _),
        ] = w
        else {
            return false;
        };
        if f != "replace" || b.is_empty() || a.len() > MAX_FOLDED || c.len() > MAX_FOLDED {
            return false;
        }
        let out = a.replace(b.as_str(), c);
        name_like(&out) && (out.contains("__") || out.starts_with('_'))
    })
}

/// Whether `s` is one or more underscores.
fn is_underscores(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '_')
}

/// Whether `s` could be an attribute name (letters, digits, underscores).
fn name_like(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether a `str.format` field in `s` (`{0.__class__}`, `{x[_y]}`) reaches a private name.
fn format_field_reaches_private(s: &str) -> bool {
    s.split('{').skip(1).any(|field| {
        let field = field.split('}').next().unwrap_or_default();
        field.contains("__") || field.contains("._") || field.contains("[_")
    })
}

/// Whether the tag joins pieces at run time.
fn builds(toks: &[Token]) -> bool {
    let adjacent_strings = toks
        .windows(2)
        .any(|w| matches!(w, [Token::Str(..), Token::Str(..)]));
    adjacent_strings
        || toks.iter().any(|t| match t {
            Token::Punct(c) => matches!(c, '~' | '+' | '*' | '%'),
            Token::Ident(n) => matches!(n.as_str(), "join" | "format" | "replace" | "reverse"),
            Token::Str(..) | Token::Num(_) => false,
        })
}

/// What is wrong with a tag, if anything; `underscores` are the variables known to hold `_`s.
fn judge(toks: &[Token], underscores: &BTreeSet<String>) -> Option<&'static str> {
    let builds = builds(toks);
    // Parentheses open at each token: a call's arguments when above zero.
    let mut parens: usize = 0;
    for (i, t) in toks.iter().enumerate() {
        let at = |k: usize| toks.get(k);
        let prev = i.checked_sub(1).and_then(at);
        let next = at(i.saturating_add(1));
        match t {
            Token::Punct('(') => parens = parens.saturating_add(1),
            Token::Punct(')') => parens = parens.saturating_sub(1),
            _ => {}
        }
        let context = Context {
            prev,
            next,
            builds,
            in_call: parens > 0,
        };
        let found = match t {
            Token::Ident(name) => judge_ident(toks, i, name, &context),
            Token::Str(value, escaped) => judge_str(toks, i, value, *escaped, &context),
            Token::Num(_) | Token::Punct(_) => None,
        };
        if found.is_some() {
            return found;
        }
    }
    if builds && (pieces(toks, underscores) >= 2 || replaces_into_dunder(toks)) {
        return Some(why::PIECES);
    }
    None
}

/// Where a token stands in its tag.
struct Context<'a> {
    /// The token before, if any.
    prev: Option<&'a Token>,
    /// The token after, if any.
    next: Option<&'a Token>,
    /// Whether the tag joins pieces at run time ([`builds`]).
    builds: bool,
    /// Whether the token is inside parentheses (a call's arguments).
    in_call: bool,
}

/// What is wrong with identifier `name` at `toks[i]`, if anything.
fn judge_ident(toks: &[Token], i: usize, name: &str, cx: &Context<'_>) -> Option<&'static str> {
    let (prev, next) = (cx.prev, cx.next);
    let dotted = matches!(prev, Some(Token::Punct('.')));
    // `x._y` and `x.__y`: the sandbox refuses these attributes; only an escape wants them.
    // A bare `__x__` is a dunder name; a bare `__render_tool` is an ordinary variable or macro.
    let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
    if (dotted && name.starts_with('_')) || dunder {
        return Some(why::DUNDER);
    }
    // `dict(__cla=1, ss__=1)` and `dict(_=1)`: keys that `|join` turns into a name.
    let kwarg = cx.in_call
        && matches!(prev, Some(Token::Punct('(' | ',')))
        && matches!(next, Some(Token::Punct('=')))
        && !matches!(toks.get(i.saturating_add(2)), Some(Token::Punct('=')));
    if kwarg && (name.starts_with('_') || name.ends_with('_')) {
        return Some(why::KWARG);
    }
    if name == "attr"
        && (matches!(prev, Some(Token::Punct('|'))) || matches!(next, Some(Token::Punct('('))))
    {
        return Some(why::ATTR);
    }
    let accessed = matches!(next, Some(Token::Punct('.' | '[' | '|')));
    if ESCAPE_OBJECTS.contains(&name) && accessed && !dotted {
        return Some(why::GLOBAL);
    }
    if PROCESS_NAMES.contains(&name) {
        return Some(why::PROCESS);
    }
    let called = matches!(next, Some(Token::Punct('(' | '.')));
    if CALLED_NAMES.contains(&name) && (called || dotted) {
        return Some(why::CALLED);
    }
    // `x|string` then `|list` or `)[24]`: characters out of `<generator object select_or_…>`.
    if name == "string" && matches!(prev, Some(Token::Punct('|'))) {
        let after = toks.get(i.saturating_add(1)..).unwrap_or_default();
        let picks = matches!(after, [Token::Punct('|'), Token::Ident(l), ..] if l == "list")
            || matches!(
                after,
                [Token::Punct(')'), Token::Punct('['), Token::Num(_), ..]
            );
        if picks {
            return Some(why::PRINTED);
        }
    }
    None
}

/// What is wrong with string literal `value` at `toks[i]`, if anything.
fn judge_str(
    toks: &[Token],
    i: usize,
    value: &str,
    escaped: bool,
    cx: &Context<'_>,
) -> Option<&'static str> {
    let (prev, next, builds) = (cx.prev, cx.next, cx.builds);
    let subscript = matches!(prev, Some(Token::Punct('[')));
    if name_like(value) && (value.contains("__") || (subscript && value.starts_with('_'))) {
        return Some(why::DUNDER_STRING);
    }
    if format_field_reaches_private(value) {
        return Some(why::DUNDER_STRING);
    }
    if escaped && value.contains('_') {
        return Some(why::ESCAPE);
    }
    if value.contains("%c") && builds {
        return Some(why::CHAR_CODES);
    }
    // `'a_b'[1]` and `'a_b'|list`: one underscore picked out of a literal.
    let after = toks.get(i.saturating_add(1)..).unwrap_or_default();
    let picked = matches!(next, Some(Token::Punct('[')))
        || matches!(after, [Token::Punct('|'), Token::Ident(l), ..] if l == "list" || l == "first" || l == "last");
    if picked && value.contains('_') {
        return Some(why::PRINTED);
    }
    if PROCESS_NAMES.contains(&value) {
        return Some(why::PROCESS);
    }
    None
}
