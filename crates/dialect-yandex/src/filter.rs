//! The `filter` and `order_by` mini-languages of Yandex list calls.
//!
//! Filter grammar (from the proto comments): `<condition> [AND <condition>...]`,
//! each `<field> <op> <value>` with ops `=`, `!=`, `IN`, `NOT IN`; values are
//! strings in `"` or `'` with C escapes, or lists `("a", "b")`. Images filter on
//! `name` only, as the Yandex docs say.

use imagery_core::query::{SortDir, SortKey};

use crate::error::{YcError, YcResult};

/// One `name` condition: the name is (or, negated, is not) one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCondition {
    pub negated: bool,
    pub values: Vec<String>,
}

impl NameCondition {
    pub fn matches(&self, name: &str) -> bool {
        self.values.iter().any(|v| v == name) != self.negated
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
    Eq,
    Ne,
    Open,
    Close,
    Comma,
}

fn invalid(why: impl std::fmt::Display) -> YcError {
    YcError::invalid(format!("invalid filter: {why}"))
}

fn tokenize(input: &str) -> YcResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                tokens.push(Token::Eq);
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err(invalid("'!' must be followed by '='"));
                }
                tokens.push(Token::Ne);
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(invalid("unterminated string")),
                        Some('\\') => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some('r') => value.push('\r'),
                            Some(e @ ('\\' | '"' | '\'')) => value.push(e),
                            _ => return Err(invalid("bad escape sequence in string")),
                        },
                        Some(q) if q == c => break,
                        Some(other) => value.push(other),
                    }
                }
                tokens.push(Token::Str(value));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if w.is_alphanumeric() || w == '_' || w == '.' || w == '-' {
                        word.push(w);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(invalid(format!("unexpected character {other:?}"))),
        }
    }
    Ok(tokens)
}

fn is_keyword(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
}

/// A value: a quoted string, or a bare word (lenient: clients quote, as documented).
fn value(tokens: &[Token], at: &mut usize) -> YcResult<String> {
    match tokens.get(*at) {
        Some(Token::Str(s)) | Some(Token::Word(s)) => {
            *at += 1;
            Ok(s.clone())
        }
        _ => Err(invalid("expected a value")),
    }
}

fn list(tokens: &[Token], at: &mut usize) -> YcResult<Vec<String>> {
    if tokens.get(*at) != Some(&Token::Open) {
        return Err(invalid("expected '(' after IN"));
    }
    *at += 1;
    let mut values = vec![value(tokens, at)?];
    loop {
        match tokens.get(*at) {
            Some(Token::Comma) => {
                *at += 1;
                values.push(value(tokens, at)?);
            }
            Some(Token::Close) => {
                *at += 1;
                return Ok(values);
            }
            _ => return Err(invalid("expected ',' or ')' in a list")),
        }
    }
}

/// Parse an image list filter; empty means no condition.
pub fn parse_filter(input: &str) -> YcResult<Vec<NameCondition>> {
    let tokens = tokenize(input)?;
    let mut conditions = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        if !conditions.is_empty() {
            if !is_keyword(tokens.get(at), "and") {
                return Err(invalid("conditions must be joined with AND"));
            }
            at += 1;
        }
        let field = match tokens.get(at) {
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(invalid("expected a field name")),
        };
        at += 1;
        if field != "name" {
            return Err(invalid(format!("unknown field {field:?}: images can be filtered by name only")));
        }
        let condition = match tokens.get(at) {
            Some(Token::Eq) => {
                at += 1;
                NameCondition { negated: false, values: vec![value(&tokens, &mut at)?] }
            }
            Some(Token::Ne) => {
                at += 1;
                NameCondition { negated: true, values: vec![value(&tokens, &mut at)?] }
            }
            t if is_keyword(t, "in") => {
                at += 1;
                NameCondition { negated: false, values: list(&tokens, &mut at)? }
            }
            t if is_keyword(t, "not") && is_keyword(tokens.get(at + 1), "in") => {
                at += 2;
                NameCondition { negated: true, values: list(&tokens, &mut at)? }
            }
            _ => return Err(invalid("expected one of =, !=, IN, NOT IN")),
        };
        conditions.push(condition);
    }
    Ok(conditions)
}

/// Parse `order_by` (`<field> [asc|desc][, ...]`); empty means `id asc`.
pub fn parse_order_by(input: &str) -> YcResult<Vec<(SortKey, SortDir)>> {
    let invalid = |why: String| YcError::invalid(format!("invalid order_by: {why}"));
    let mut sort = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let field = words.next().unwrap_or_default();
        let key = match field {
            "id" => SortKey::Id,
            "name" => SortKey::Name,
            "createdAt" | "created_at" => SortKey::CreatedAt,
            other => return Err(invalid(format!("cannot order by {other:?} (use id, name or createdAt)"))),
        };
        let dir = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => SortDir::Asc,
            Some("desc") => SortDir::Desc,
            Some(other) => return Err(invalid(format!("unknown direction {other:?}"))),
        };
        if words.next().is_some() {
            return Err(invalid(format!("unexpected text after {part:?}")));
        }
        sort.push((key, dir));
    }
    if sort.is_empty() {
        sort.push((SortKey::Id, SortDir::Asc));
    }
    Ok(sort)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(negated: bool, values: &[&str]) -> NameCondition {
        NameCondition { negated, values: values.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter("").ok(), Some(vec![]));
        assert_eq!(parse_filter(r#"name = "my-image""#).ok(), Some(vec![cond(false, &["my-image"])]));
        assert_eq!(
            parse_filter(r#"name IN ("a", 'b') AND name != "c" and name NOT IN ('d\'x')"#).ok(),
            Some(vec![cond(false, &["a", "b"]), cond(true, &["c"]), cond(true, &["d'x"])])
        );
        assert_eq!(parse_filter("name=abc").ok(), Some(vec![cond(false, &["abc"])]));
        for bad in ["name", "name ~ 'a'", "family = 'x'", "name = 'a' OR name = 'b'", "name IN 'a'", "name = 'a", "name = 'a' name = 'b'"] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        assert!(cond(true, &["a"]).matches("b") && !cond(true, &["a"]).matches("a"));
    }

    #[test]
    fn order_by() {
        assert_eq!(parse_order_by("").ok(), Some(vec![(SortKey::Id, SortDir::Asc)]));
        assert_eq!(
            parse_order_by("createdAt desc, name").ok(),
            Some(vec![(SortKey::CreatedAt, SortDir::Desc), (SortKey::Name, SortDir::Asc)])
        );
        assert!(parse_order_by("size").is_err());
        assert!(parse_order_by("name sideways").is_err());
    }
}
