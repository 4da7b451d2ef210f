//! Doc comments for what the backend generates: the IDL declaration an item comes from,
//! written back as IDL by [`crate::dump::Idl`], then its `helpstring` when it has one.
//! Items the IDL does not declare one to one (vtables, traits, constructors, bit-field
//! accessors) say what they are for.
//!
//! IDL text is quoted as code, so rustdoc reads `[in]` and `IVector<T>` literally; a
//! helpstring is prose and has Markdown's special characters escaped.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;
use crate::dump::Idl;
use crate::ir::{Attr, Item, ItemId, ItemKind, Type};

/// Attributes the docs show as text rather than in attribute lists.
const AS_TEXT: &[&str] = &["helpstring"];

/// `#[doc]` attributes for a doc text; a line of its own per `\n`, so prettyplease
/// writes each as a `///` comment.
pub(super) fn attrs(text: &str) -> TokenStream {
    let lines = text.split('\n').map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote! { #[doc = #line] }
    });
    quote! { #(#lines)* }
}

/// Text as Markdown code: a code span, or, when the text holds backticks (a string
/// constant's value), a `<code>` element with the text escaped: a code span fenced with
/// three backticks would open a code block at the start of a line.
pub(super) fn code(text: &str) -> String {
    if !text.contains('`') {
        return format!("`{text}`");
    }
    let mut out = String::from("<code>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            // Entities, so smart punctuation leaves quotes, dots and dashes alone.
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '.' => out.push_str("&#46;"),
            '-' => out.push_str("&#45;"),
            c => {
                if MARKDOWN.contains(&c) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out.push_str("</code>");
    out
}

/// Characters Markdown may read as syntax inside a line of prose.
const MARKDOWN: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '~', '&'];

/// Prose (a helpstring) made inert Markdown on one line: special characters escaped, web
/// addresses made links (rustdoc warns about bare ones).
pub(super) fn prose(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            if word.starts_with("http://") || word.starts_with("https://") {
                let end = word.trim_end_matches(['.', ',', ';', ':', ')', '>', '"', '\'']);
                if !end.contains(['<', '>', ' ']) {
                    return format!("<{end}>{}", escape(&word[end.len()..]));
                }
            }
            escape(word)
        })
        .collect();
    words.join(" ")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if MARKDOWN.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `{summary}: {helpstring}`, or the summary alone.
pub(super) fn with_help(summary: String, attrs: &[Attr]) -> String {
    match helpstring(attrs) {
        Some(help) => format!("{summary}: {}", prose(help)),
        None => summary,
    }
}

/// The `helpstring` attribute's text, if there is one and it says something.
fn helpstring(attrs: &[Attr]) -> Option<&str> {
    let attr = attrs.iter().find(|a| a.name == "helpstring")?;
    match attr.args.first()? {
        crate::ir::AttrValue::Str(s) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}

impl<'m> Gen<'m> {
    /// The IDL renderer docs use.
    pub fn idl(&self) -> Idl<'m> {
        Idl::new(self.model).omitting(AS_TEXT)
    }

    /// The name of the IDL file an item was declared in.
    pub fn file_name(&self, item: &Item) -> String {
        self.model
            .files
            .iter()
            .find(|f| f.file == item.file)
            .and_then(|f| f.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// `` `{IDL declaration}` ({file}): {helpstring} `` for a top-level item.
    pub fn item_doc(&self, item: &Item) -> String {
        let decl = code(&self.idl().item(item));
        with_help(format!("{decl} ({})", self.file_name(item)), &item.attrs)
    }

    /// The doc of a struct, union or enum with no name of its own: the typedef that names
    /// it (`typedef struct {...} FOO;`), or the member it is the type of.
    pub fn anonymous_doc(&self, id: ItemId, item: &Item) -> String {
        let idl = self.idl();
        let file = self.file_name(item);
        let what = code(&idl.item(item));
        for (other_id, other) in self.model.items_in(item.file) {
            // An anonymous parent goes by its Rust name.
            let parent = || {
                if other.name.is_empty() {
                    self.names.get(other_id).to_string()
                } else {
                    idl.item(other)
                }
            };
            match &other.kind {
                ItemKind::Typedef(Type::Named(t)) if *t == id && !other.name.is_empty() => {
                    return self.item_doc(other);
                }
                ItemKind::Struct(r) => {
                    if let Some(f) = r.fields.iter().find(|f| names_type(f.ty.as_ref(), id)) {
                        return member_of(&what, &f.name, &parent(), &file);
                    }
                }
                ItemKind::Union(u) => {
                    if let Some(a) = u.arms.iter().find(|a| names_type(a.field.ty.as_ref(), id)) {
                        return member_of(&what, &a.field.name, &parent(), &file);
                    }
                }
                _ => {}
            }
        }
        with_help(format!("{what} ({file})"), &item.attrs)
    }
}

fn member_of(what: &str, member: &str, parent: &str, file: &str) -> String {
    let member = if member.is_empty() {
        "an unnamed member".to_string()
    } else {
        format!("member {}", code(member))
    };
    format!("{what}: the type of {member} of {} ({file})", code(parent))
}

/// Whether `ty` is `id`, or pointers or arrays of it.
fn names_type(ty: Option<&Type>, id: ItemId) -> bool {
    match ty {
        Some(Type::Named(t)) => *t == id,
        Some(Type::Pointer { pointee: inner, .. } | Type::Const(inner)) => {
            names_type(Some(inner), id)
        }
        Some(Type::Array { element, .. }) => names_type(Some(element), id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("[in] LONG a"), "`[in] LONG a`");
        assert_eq!(
            code("'a`b' <T> [x]"),
            "<code>&#39;a&#96;b&#39; &lt;T&gt; \\[x\\]</code>"
        );
    }

    #[test]
    fn prose_is_inert_markdown() {
        assert_eq!(
            prose("Gets a <b>[thing]</b>\n  *now*"),
            "Gets a \\<b\\>\\[thing\\]\\</b\\> \\*now\\*"
        );
        assert_eq!(
            prose("See https://example.com/x."),
            "See <https://example.com/x>."
        );
    }

    #[test]
    fn doc_lines_become_separate_attributes() {
        let tokens = attrs("one\n\ntwo").to_string();
        assert_eq!(
            tokens,
            "# [doc = \" one\"] # [doc = \"\"] # [doc = \" two\"]"
        );
    }
}
