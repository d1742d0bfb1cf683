//! The minijinja environment used for pack templates and `when`/patch expressions (strict undefined, no I/O).

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// Why a template or expression failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// minijinja refused it (syntax, undefined value, filter error); shown with minijinja's
    /// whole chain of causes.
    #[error("{}", describe(.0))]
    Jinja(minijinja::Error),
    #[error("`{expr}` gave {value}, expected a string")]
    NotAString { expr: String, value: String },
}

impl From<minijinja::Error> for TemplateError {
    fn from(error: minijinja::Error) -> Self {
        Self::Jinja(error)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Templates quote explicitly with `tojson`; the default would JSON-escape every `.yaml.j2` output.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Keep the final newline so a block scalar at the end of a template stays a readable `|` block.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

/// Check that a template parses.
pub fn check_template(name: &str, source: &str) -> Result<(), minijinja::Error> {
    let mut env = environment();
    env.add_template_owned(name.to_string(), source.to_string())
}

/// The context templates and expressions see.
pub fn context(
    values: &serde_json::Value,
    pack: &serde_json::Value,
    gates: &serde_json::Value,
) -> Value {
    Value::from(Serde(
        serde_json::json!({"values": values, "pack": pack, "gates": gates}),
    ))
}

/// Render one template.
pub fn render(name: &str, source: &str, ctx: &Value) -> Result<String, TemplateError> {
    let mut env = environment();
    env.add_template_owned(name.to_string(), source.to_string())?;
    Ok(env.get_template(name).and_then(|t| t.render(ctx))?)
}

/// Evaluate an expression to a value.
pub fn eval(expr: &str, ctx: &Value) -> Result<Value, TemplateError> {
    let env = environment();
    Ok(env.compile_expression(expr).and_then(|e| e.eval(ctx))?)
}

/// Evaluate a `when` condition.
pub fn condition(expr: Option<&str>, ctx: &Value) -> Result<bool, TemplateError> {
    match expr {
        None => Ok(true),
        Some(expr) => eval(expr, ctx).map(|v| v.is_true()),
    }
}

/// Evaluate an expression that must give a string.
pub fn eval_string(expr: &str, ctx: &Value) -> Result<String, TemplateError> {
    let value = eval(expr, ctx)?;
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| TemplateError::NotAString {
            expr: expr.to_string(),
            value: value.to_string(),
        })
}

/// Render a `{{ }}` string (readiness targets).
pub fn render_str(text: &str, ctx: &Value) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    Ok(environment().render_str(text, ctx)?)
}

fn describe(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}
