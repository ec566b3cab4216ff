//! Chat templates that must stay clean, and sandbox escapes that must be flagged.

use super::template::check;

/// Published chat templates (tokenizer_config.json `chat_template`, from memory).
const CLEAN: &[(&str, &str)] = &[
    // meta-llama/Llama-2-7b-chat-hf
    (
        "llama2",
        r#"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"#,
    ),
    // meta-llama/Meta-Llama-3-8B-Instruct
    (
        "llama3",
        r#"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"#,
    ),
    // mistralai/Mistral-7B-Instruct-v0.1 and mistralai/Mixtral-8x7B-Instruct-v0.1
    (
        "mistral",
        r#"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"#,
    ),
    // Qwen/Qwen2-7B-Instruct
    (
        "qwen2",
        r#"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#,
    ),
    // google/gemma-7b-it
    (
        "gemma",
        r#"{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"#,
    ),
    // microsoft/Phi-3-mini-4k-instruct
    (
        "phi3",
        r#"{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"#,
    ),
    // ChatML (e.g. teknium/OpenHermes-2.5-Mistral-7B)
    (
        "chatml",
        r#"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#,
    ),
    // deepseek-ai/deepseek-llm-7b-chat
    (
        "deepseek",
        r#"{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"#,
    ),
    // A namespace used the ordinary way (many tool-use templates).
    (
        "namespace",
        r#"{% set ns = namespace(found=false) %}{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }} Literal text with __class__ and os.popen outside tags."#,
    ),
];

/// Published GGUF template-injection proofs of concept and variants.
const MALICIOUS: &[&str] = &[
    r#"{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}"#,
    r#"{{ cycler.__init__.__globals__.os.popen('id').read() }}"#,
    r#"{{ ''|attr('\x5f\x5fclass\x5f\x5f') }}"#,
    r#"{{ ('_'*2~'class'~'_'*2) }}"#,
    r#"{% set u = '_' ~ '_' %}{{ x|attr(u ~ 'class' ~ u) }}"#,
    r#"{% for c in [].__class__.__base__.__subclasses__() %}{% endfor %}"#,
    r#"{{ x['__globals__'] }}"#,
    r#"{{ x|attr('\u005f\u005fclass\u005f\u005f') }}"#,
    r#"{{ joiner.__init__.__globals__ }}"#,
    r#"{{ lipsum.__globals__['os'].popen('id').read() }}"#,
    r#"{{ namespace.__init__ }}"#,
    r#"{{ ['_','_','class','_','_']|join }}"#,
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
