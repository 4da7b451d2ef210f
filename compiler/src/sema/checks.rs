//! Rules that need the whole model lowered, so that type names resolve through typedefs
//! declared anywhere: what MIDL and widl refuse although each declaration parsed.
//!
//! - An `[out]` parameter is a pointer (or an array, which C passes as one): the callee
//!   writes its result through it. `[out] LONG dy` would leave nowhere to write. (A
//!   warning: widl accepts it, and Wine's own files have it.)
//! - An `[object]` interface has a `uuid`: QueryInterface knows it by nothing else. (A
//!   warning, for the same reason.)
//! - One interface does not declare two methods of one name, unless they are the property
//!   accessors of one property (`[propget]`, `[propput]`, `[propputref]`) or WinRT
//!   overloads (`[overload]`): C would get two vtable slots of one name.
//!
//! Run after lowering, on the IR.

use super::Sema;
use crate::diag::Diagnostic;
use crate::ir::{ItemKind, Method, Signature, Type};

impl Sema<'_> {
    pub(crate) fn check_declarations(&mut self) {
        // A uuid that did not parse was reported already; a second message about the
        // missing IID would only repeat it.
        let had_errors = self.diags.iter().any(Diagnostic::is_error);
        let mut found = Vec::new();
        for item in &self.model.items {
            match &item.kind {
                ItemKind::Interface(i) => {
                    if !had_errors && i.defined && item.has_attr("object") && item.uuid().is_none()
                    {
                        found.push(
                            // A warning, not an error: widl accepts it (d3dcommon.idl's
                            // ID3DInclude is one), and C code may still use the vtable.
                            Diagnostic::warning(format!(
                                "object interface `{}` has no uuid: it gets no IID, so no \
                                 QueryInterface can ask for it",
                                item.full_name()
                            ))
                            .at_with(item.span, "add `uuid(...)`"),
                        );
                    }
                    self.check_methods(&item.full_name(), &i.methods, &mut found);
                }
                ItemKind::Dispinterface(d) => {
                    self.check_methods(&item.full_name(), &d.methods, &mut found);
                }
                ItemKind::Function(f) => self.check_outs(&f.signature, &mut found),
                ItemKind::Delegate(d) => self.check_outs(&d.signature, &mut found),
                _ => {}
            }
        }
        self.diags.append(&mut found);
    }

    fn check_methods(&self, interface: &str, methods: &[Method], found: &mut Vec<Diagnostic>) {
        for (index, method) in methods.iter().enumerate() {
            self.check_outs(&method.signature, found);
            let earlier = methods[..index]
                .iter()
                .find(|m| m.name == method.name && !distinct_accessors(m, method));
            if let Some(earlier) = earlier {
                found.push(
                    Diagnostic::error(format!(
                        "interface `{interface}` declares method `{}` twice",
                        method.name
                    ))
                    .at_with(method.span, "declared again here")
                    .also(earlier.span, "first declared here"),
                );
            }
        }
    }

    fn check_outs(&self, signature: &Signature, found: &mut Vec<Diagnostic>) {
        for param in &signature.params {
            if param.has_attr("out") && !self.passes_by_address(&param.ty) {
                found.push(
                    // A warning, not an error: widl accepts it (Wine's own mshtml.idl and
                    // msctf.idl have one each), but no value can come back through it.
                    Diagnostic::warning(format!(
                        "[out] parameter `{}` is not a pointer: no value can come back through it",
                        param.name
                    ))
                    .at_with(param.span, "the callee has nowhere to write its result"),
                );
            }
        }
    }

    /// Whether a parameter of type `ty` reaches the callee as an address: a pointer or an
    /// array, directly or through typedefs. A type parameter of a WinRT generic is given
    /// the benefit of the doubt (its instances are checked where they are used).
    fn passes_by_address(&self, ty: &Type) -> bool {
        let mut ty = ty;
        // Typedef chains are acyclic once `check_cycles` passed; the bound keeps a broken
        // model from looping.
        for _ in 0..64 {
            match ty {
                Type::Pointer { .. } | Type::Array { .. } | Type::Param(_) => return true,
                Type::Const(inner) => ty = inner,
                Type::Named(id) => match self.item(*id).map(|it| &it.kind) {
                    Some(ItemKind::Typedef(target)) => ty = target,
                    _ => return false,
                },
                _ => return false,
            }
        }
        true
    }
}

/// Two methods of one name that C and the type library keep apart: different property
/// accessors, or WinRT overloads.
fn distinct_accessors(a: &Method, b: &Method) -> bool {
    let kind = |m: &Method| {
        [
            "propget",
            "propput",
            "propputref",
            "eventadd",
            "eventremove",
        ]
        .into_iter()
        .find(|k| m.has_attr(k))
    };
    let overloads = a.has_attr("overload") || b.has_attr("overload");
    // A plain method beside a [propput] one of its name is how some type libraries spell
    // a property's getter (wmp.idl's `currentItem`).
    overloads || kind(a) != kind(b)
}
