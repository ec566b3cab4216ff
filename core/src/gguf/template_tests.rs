//! Chat templates that must stay clean, and sandbox escapes that must be flagged.
//!
//! The clean ones are real published templates from `tests/fixtures/gguf/templates/` (sources
//! in SOURCES.md there); `tests/tests/gguf_templates.rs` runs every file of that folder.

use alloc::string::String;
use alloc::vec::Vec;

use super::template::check;
use super::template_lex::{Tag, Token, tags, tokens};

/// A real template from the fixture folder.
macro_rules! real {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../../tests/fixtures/gguf/templates/", $file)),
        )
    };
}

/// Published chat templates of the families most GGUF files carry.
const CLEAN: &[(&str, &str)] = &[
    real!("meta-llama-Llama-2-7b-chat-hf.jinja"),
    real!("meta-llama-Meta-Llama-3-8B-Instruct.jinja"),
    real!("meta-llama-Llama-3.1-8B-Instruct.jinja"),
    real!("mistralai-Mistral-7B-Instruct-v0.1.jinja"),
    real!("mistralai-Mixtral-8x7B-Instruct-v0.1.jinja"),
    real!("mistralai-Mistral-Nemo-Instruct-2407.jinja"),
    real!("Qwen-Qwen2.5-7B-Instruct.jinja"),
    real!("google-gemma-2-2b-it.jinja"),
    real!("microsoft-Phi-3.5-mini-instruct.jinja"),
    real!("teknium-OpenHermes-2.5-Mistral-7B.jinja"),
    real!("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"),
    real!("CohereForAI-c4ai-command-r-plus-tool_use.jinja"),
    real!("ibm-granite-granite-3.3-2B-Instruct.jinja"),
    real!("openai-gpt-oss-120b.jinja"),
    // Macros named `__render_tool` etc.: ordinary names, not dunder attributes.
    real!("test-chat-template--yandex-YandexGPT-5-Lite-8B-instruct.jinja"),
    // `set _ = queue.ids.append(...)`: assigning to `_` is not a keyword argument.
    real!("Kimi-K2-Instruct.jinja"),
    (
        "namespace, dunders in literal text, comments and raw blocks",
        "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }} Literal text with __class__ and os.popen outside tags.{# {{ cycler.__init__ }} #}{% raw %}{{ lipsum.__globals__ }}{% endraw %}{{ 'def __init__(self): is prose, not a name' }}",
    ),
];

/// Published Jinja sandbox escapes (server-side template injection payloads, the GGUF
/// chat-template proofs of concept of CVE-2024-34359) and variants that hide the dunder names.
const MALICIOUS: &[&str] = &[
    // CVE-2024-34359 (llama-cpp-python) proof of concept.
    r#"{% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen("touch /tmp/retr0reg")}}{%endif%}{% endfor %}"#,
    r#"{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}"#,
    r#"{{ cycler.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ joiner.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ namespace.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ lipsum.__globals__['os'].popen('id').read() }}"#,
    r#"{{ lipsum.__globals__["os"].popen('id').read() }}"#,
    r#"{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}"#,
    r#"{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}"#,
    r#"{{ config.items() }}"#,
    r#"{{ get_flashed_messages.__globals__['current_app'].config }}"#,
    r#"{{ url_for.__globals__.os.popen('id').read() }}"#,
    r#"{{ ''.__class__.__mro__[1].__subclasses__() }}"#,
    r#"{{ ''|attr('\x5f\x5fclass\x5f\x5f') }}"#,
    r#"{{ request|attr('application')|attr('\x5f\x5fglobals\x5f\x5f')|attr('\x5f\x5fgetitem\x5f\x5f')('\x5f\x5fbuiltins\x5f\x5f') }}"#,
    r#"{% with a = request["application"]["\x5f\x5fglobals\x5f\x5f"]["\x5f\x5fbuiltins\x5f\x5f"]["\x5f\x5fimport\x5f\x5f"]("os")["popen"]("ls")["read"]() %}{{ a }}{% endwith %}"#,
    r#"{{ x['\x5f\x5fclass\x5f\x5f'] }}"#,
    r#"{{ x['\u005f\u005fclass\u005f\u005f'] }}"#,
    r#"{{ x['\137\137class\137\137'] }}"#,
    r#"{{ x['\N{LOW LINE}\N{LOW LINE}class\N{LOW LINE}\N{LOW LINE}'] }}"#,
    r#"{{ ('_'*2~'class'~'_'*2) }}"#,
    r#"{{ x['_' ~ '_' ~ 'class' ~ '_' ~ '_'] }}"#,
    r#"{{ x['_' '_' 'class' '_' '_'] }}"#,
    r#"{% set u = '_' ~ '_' %}{{ x|attr(u ~ 'class' ~ u) }}"#,
    r#"{% set u = '_' %}{% set c = u ~ u ~ 'class' ~ u ~ u %}{{ x[c] }}"#,
    r#"{% set ns = namespace() %}{% set ns.u = '__' %}{{ x[ns.u ~ 'class' ~ ns.u] }}"#,
    r#"{{ ['_','_','class','_','_']|join }}"#,
    r#"{{ x[dict(__cla=1, ss__=1)|join] }}"#,
    r#"{% set u = dict(_=1)|join %}{{ u }}"#,
    r#"{% set u = ('%c'|format(95)) %}{{ u }}"#,
    r#"{% set u = '%c%c' % (95, 95) %}{{ u }}"#,
    r#"{% set u = (()|select|string)[24] %}{{ u }}"#,
    r#"{% set chars = ()|select|string|list %}{{ chars }}"#,
    r#"{% set u = 'a_b'[1] %}{{ u }}"#,
    r#"{{ x['__globals__'] }}"#,
    r#"{{ x['_module'] }}"#,
    r#"{{ [x]|map(attribute='__class__')|list }}"#,
    r#"{{ "{0.__class__.__init__.__globals__}".format(cycler) }}"#,
    r#"{{ x.__getitem__('y') }}"#,
    r#"{{ __builtins__ }}"#,
    r#"{% include '/etc/passwd' %}"#,
    r#"{%- import 'macros.jinja' as m -%}"#,
    r#"{% extends 'base.html' %}"#,
    r#"{% from 'tools.jinja' import render %}"#,
    // Whatever Jinja reads as code is read as code: a comment that quotes does not swallow
    // the tag after it, and a closing `}}` inside brackets does not end the tag.
    r#"{# it's a comment #}{{ cycler.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ {'a':{'b':cycler}}['a']['b'].__init__.__globals__.os.popen('id').read() }}"#,
    r#"{% raw %}text{% endraw %}{{ lipsum.__globals__.os.popen('id').read() }}"#,
    r#"{% raw %}{% endraw x %}{% endraw %}{{ lipsum.__globals__ }}"#,
];

#[test]
fn real_templates_are_clean() {
    for (name, text) in CLEAN {
        assert!(check(text).is_empty(), "{name}: {:?}", check(text));
    }
}

#[test]
fn escapes_are_flagged() {
    for text in MALICIOUS {
        assert!(!check(text).is_empty(), "not flagged: {text}");
    }
}

#[test]
fn one_finding_per_reason() {
    let text = "{{ a.__class__ }}{{ b.__class__ }}{{ c.__mro__ }}{{ x|attr('y') }}";
    let hits = check(text);
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].snippet, "a.__class__");
}

#[test]
fn hits_are_bounded() {
    let text = MALICIOUS.concat().repeat(20);
    assert!(check(&text).len() <= 10);
}

#[test]
fn underscore_pieces_in_separate_tags_are_flagged_only_when_joined() {
    assert!(check("{% set u = '_' %}{{ u }}").is_empty());
    // One underscore joined to other text is ordinary.
    assert!(check("{% set sep = '_' %}{{ name|replace(' ', sep) }}").is_empty());
    assert!(check("{{ parts|join('_') }}{{ name ~ '_' ~ loop.index }}").is_empty());
    assert!(check("{{ tool.name|replace('-', '_') }}").is_empty());
    // Two side by side spell a dunder, however they are kept.
    assert!(!check("{% set u = '_' %}{{ 'x' ~ u ~ u ~ 'y' }}").is_empty());
    assert!(!check("{% set u = '_' %}{% set c = u ~ 'class' %}{{ x[u ~ c] }}").is_empty());
    assert!(!check("{{ x['xxclassxx'|replace('x', '_')] }}").is_empty());
    assert!(!check("{{ x['.class'.replace('.', '_')] }}").is_empty());
}

#[test]
fn lexer_follows_jinja_where_code_could_hide() {
    let code = |t: &str| -> Vec<String> { tags(t).map(|t| t.code.into()).collect() };
    // A comment ends at the first `#}`, quotes or not.
    assert_eq!(code("{# ' #}{{ a }}"), [" a "]);
    // A tag ends outside strings and brackets.
    assert_eq!(code("{{ '}}' }}"), [" '}}' "]);
    assert_eq!(code("{{ {'a': {'b': 1}} }}x"), [" {'a': {'b': 1}} "]);
    // A raw block is text up to the first endraw, with whitespace control.
    assert_eq!(code("{%- raw -%}{{ a }}{%- endraw +%}{{ b }}"), [" b "]);
    // `raw` with more words is not a raw block.
    assert_eq!(
        tags("{% raw x %}{{ a }}").collect::<Vec<_>>(),
        [
            Tag {
                code: " raw x ",
                statement: true
            },
            Tag {
                code: " a ",
                statement: false
            }
        ]
    );
    // An unterminated tag runs to the end; an unterminated raw block hides nothing that runs.
    assert_eq!(code("{{ a"), [" a"]);
    assert!(code("{% raw %}{{ a }}").is_empty());
}

#[test]
fn string_escapes_decode_like_python() {
    let strs = |t: &str| -> Vec<(String, bool)> {
        tokens(t)
            .0
            .into_iter()
            .filter_map(|t| match t {
                Token::Str(s, e) => Some((s, e)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(strs(r"'\x5f'"), [("_".into(), true)]);
    assert_eq!(strs(r"'\u005F\U0000005f'"), [("__".into(), true)]);
    assert_eq!(strs(r"'\137'"), [("_".into(), true)]);
    assert_eq!(strs(r"'\N{low line}\N{BULLET}'"), [("_?".into(), true)]);
    assert_eq!(
        strs(r#"'a\nb\'c' "d\"e""#),
        [("a\nb'c".into(), false), ("d\"e".into(), false)]
    );
    // Unterminated escapes and strings end quietly.
    assert_eq!(strs(r"'\x"), [("\0".into(), true)]);
    assert_eq!(strs(r"'\N{LOW"), [("?".into(), true)]);
}

#[test]
fn bounds_of_the_analysis_are_reported() {
    use super::template_lex::MAX_TOKENS;
    let long = alloc::format!("{{{{ {} }}}}", "(".repeat(MAX_TOKENS + 1));
    let hits = check(&long);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].limit);
    let (toks, cut) = tokens(&"(".repeat(MAX_TOKENS + 5));
    assert!(cut);
    assert_eq!(toks.len(), MAX_TOKENS);

    let many: String = (0..1100)
        .map(|i| alloc::format!("{{% set u{i} = '_' %}}"))
        .collect();
    let hits = check(&many);
    assert!(hits.iter().any(|h| h.limit), "{hits:?}");
    // Within the bound, nothing is reported.
    let few: String = (0..1000)
        .map(|i| alloc::format!("{{% set u{i} = '_' %}}"))
        .collect();
    assert!(check(&few).is_empty());
}
