//! What MIDL's reference allows of pipes (`typedef pipe T NAME;`), checked once the model
//! is lowered. A pipe streams elements of `T` to the server (`[in]`, which pulls them) or
//! back to the client (`[out]`, which the server pushes), in chunks, during one call:
//!
//! - The element is fixed-size, self-contained data: it is not and does not contain a
//!   pointer, a conformant or varying array (or `[string]`), a binding or context handle,
//!   an interface, or another pipe. In Microsoft's implementation it also holds no union,
//!   no 16-bit enum (an enum is 16 bits on the wire unless `[v1_enum]`) and no
//!   `__int3264`.
//! - Neither the pipe nor its element type is `[transmit_as]`, `[represent_as]`,
//!   `[wire_marshal]` or `[user_marshal]`.
//! - A pipe is only ever a parameter of a remote call: not a struct or union member, not
//!   an array's element, not a return value. It is passed by value or through one `[ref]`
//!   pointer (never `[unique]`, `[ptr]` or a pointer to a pointer).
//! - Not in `[object]` interfaces (COM has no pipes), nor in a routine that is
//!   `[idempotent]`, nor in an interface that is `[encode]`/`[decode]` (serialization) or
//!   `[auto_handle]`.

use super::Sema;
use crate::diag::Diagnostic;
use crate::ir::{self, Base, ItemId, ItemKind, Signature, Type};
use crate::source::Span;

/// Attributes that replace a type's wire form, which a pipe's element cannot have.
const WIRE_REPLACING: [&str; 4] = [
    "transmit_as",
    "represent_as",
    "wire_marshal",
    "user_marshal",
];

impl Sema<'_> {
    pub(crate) fn check_pipes(&mut self) {
        let mut found = Vec::new();
        let has_pipes = self
            .model
            .items
            .iter()
            .any(|it| matches!(it.kind, ItemKind::Pipe(_)));
        if !has_pipes {
            return;
        }
        for item in &self.model.items {
            match &item.kind {
                ItemKind::Pipe(element) => {
                    for a in &item.attrs {
                        if WIRE_REPLACING.contains(&a.name.as_str()) {
                            found.push(
                                Diagnostic::error(format!(
                                    "pipe `{}` cannot be [{}]",
                                    item.name, a.name
                                ))
                                .at_with(a.span, "a pipe's wire form is its chunks of elements"),
                            );
                        }
                    }
                    if let Some(why) = self.bad_element(element, 0) {
                        found.push(
                            Diagnostic::error(format!(
                                "the elements of pipe `{}` cannot {why}",
                                item.name
                            ))
                            .at_with(item.span, "a pipe streams fixed-size, self-contained data"),
                        );
                    }
                }
                ItemKind::Struct(r) => {
                    for f in &r.fields {
                        if let Some(ty) = &f.ty {
                            self.not_in_data(ty, &f.name, f.span, &mut found);
                        }
                    }
                }
                ItemKind::Union(u) => {
                    for a in &u.arms {
                        if let Some(ty) = &a.field.ty {
                            self.not_in_data(ty, &a.field.name, a.field.span, &mut found);
                        }
                    }
                }
                // `typedef pipe long P, *PP;` names a pointer to a pipe, which a parameter
                // may use; arrays of pipes are nothing.
                ItemKind::Typedef(ty) if self.holds_pipe(ty, false) => {
                    found.push(only_a_parameter(&item.name, item.span));
                }
                ItemKind::Interface(i) => {
                    let object = item.has_attr("object");
                    let serializing = ["encode", "decode", "auto_handle"]
                        .into_iter()
                        .find(|a| item.has_attr(a));
                    for m in &i.methods {
                        let pipes = self.pipe_params(&m.signature, m.span, &mut found);
                        let Some(first) = pipes.first().copied() else {
                            continue;
                        };
                        let refusal = if object {
                            Some("is in an [object] interface: COM has no pipes".to_string())
                        } else if m.has_attr("idempotent") {
                            Some(
                                "is in an [idempotent] method: a stream cannot be replayed"
                                    .to_string(),
                            )
                        } else {
                            serializing.map(|a| format!("is in an [{a}] interface"))
                        };
                        if let Some(why) = refusal {
                            found.push(
                                Diagnostic::error(format!("pipe parameter `{first}` {why}"))
                                    .at(m.span),
                            );
                        }
                    }
                }
                ItemKind::Dispinterface(d) => {
                    for m in &d.methods {
                        for name in self.pipe_params(&m.signature, m.span, &mut found) {
                            found.push(
                                Diagnostic::error(format!(
                                    "pipe parameter `{name}` is in a dispinterface: \
                                     only remote procedure calls take pipes"
                                ))
                                .at(m.span),
                            );
                        }
                    }
                }
                ItemKind::Function(f) => {
                    self.pipe_params(&f.signature, item.span, &mut found);
                }
                ItemKind::Delegate(d) => {
                    self.pipe_params(&d.signature, item.span, &mut found);
                }
                _ => {}
            }
        }
        self.diags.append(&mut found);
    }

    /// The names of a signature's pipe parameters, after checking how each is passed and
    /// that the return value is no pipe.
    fn pipe_params<'s>(
        &self,
        sig: &'s Signature,
        at: Span,
        found: &mut Vec<Diagnostic>,
    ) -> Vec<&'s str> {
        if self.holds_pipe(&sig.ret, true) {
            found.push(
                Diagnostic::error("a pipe cannot be returned: it is only ever a parameter").at(at),
            );
        }
        let mut names = Vec::new();
        for p in &sig.params {
            match self.pipe_passing(&p.ty) {
                None => {}
                Some(Ok(by_pointer)) => {
                    names.push(p.name.as_str());
                    // A top-level pointer is [ref] unless the parameter or its typedef says
                    // otherwise (pointer_default does not reach top-level parameters).
                    let attr = ["unique", "ptr"]
                        .into_iter()
                        .find(|a| p.has_attr(a) || self.typedef_says(&p.ty, a));
                    if let (true, Some(attr)) = (by_pointer, attr) {
                        found.push(
                            Diagnostic::error(format!(
                                "pipe parameter `{}` is passed through a [{attr}] pointer",
                                p.name,
                            ))
                            .at_with(p.span, "a pipe goes by value or through a [ref] pointer"),
                        );
                    }
                }
                Some(Err(())) => found.push(
                    Diagnostic::error(format!(
                        "parameter `{}` holds a pipe other than by value or through one pointer",
                        p.name
                    ))
                    .at_with(p.span, "a pipe goes by value or through a [ref] pointer"),
                ),
            }
        }
        names
    }

    /// How a parameter of type `ty` passes a pipe: `None` when it holds none, `Ok(false)`
    /// by value, `Ok(true)` through one pointer, `Err` any other way.
    fn pipe_passing(&self, ty: &Type) -> Option<Result<bool, ()>> {
        match self.resolved(ty) {
            Type::Named(id) if self.is_pipe(*id) => Some(Ok(false)),
            Type::Pointer { pointee, .. } => match self.resolved(pointee) {
                Type::Named(id) if self.is_pipe(*id) => Some(Ok(true)),
                other => self.holds_pipe(other, true).then_some(Err(())),
            },
            other => self.holds_pipe(other, true).then_some(Err(())),
        }
    }

    /// Whether `ty` holds a pipe anywhere but at its top (`top`: the top counts too).
    fn holds_pipe(&self, ty: &Type, top: bool) -> bool {
        match ty {
            Type::Named(id) => match self.item(*id).map(|it| &it.kind) {
                Some(ItemKind::Pipe(_)) => top,
                Some(ItemKind::Typedef(inner)) => self.holds_pipe(inner, top),
                _ => false,
            },
            Type::Const(inner) => self.holds_pipe(inner, top),
            // A typedef of a pointer to a pipe is the pipe passed by reference.
            Type::Pointer { pointee, .. } => self.holds_pipe(pointee, true) && top,
            Type::Array { element, .. } | Type::SafeArray(element) => {
                self.holds_pipe(element, true)
            }
            _ => false,
        }
    }

    /// Whether a typedef on the way from `ty` to what it names carries attribute `attr`.
    fn typedef_says<'t>(&'t self, mut ty: &'t Type, attr: &str) -> bool {
        for _ in 0..64 {
            match ty {
                Type::Const(inner) => ty = inner,
                Type::Named(id) => match self.item(*id) {
                    Some(it) if it.has_attr(attr) => return true,
                    Some(ir::Item {
                        kind: ItemKind::Typedef(target),
                        ..
                    }) => ty = target,
                    _ => return false,
                },
                _ => return false,
            }
        }
        false
    }

    fn not_in_data(&self, ty: &Type, name: &str, span: Span, found: &mut Vec<Diagnostic>) {
        if self.holds_pipe(ty, true) {
            found.push(only_a_parameter(name, span));
        }
    }

    fn is_pipe(&self, id: ItemId) -> bool {
        matches!(self.item(id).map(|it| &it.kind), Some(ItemKind::Pipe(_)))
    }

    /// Why a pipe element of type `ty` is refused, if it is ("be a pointer", ...).
    fn bad_element(&self, ty: &Type, depth: usize) -> Option<String> {
        if depth > 32 {
            return None;
        }
        match ty {
            Type::Base(Base::Void) => Some("be void".into()),
            Type::Base(Base::Handle) => Some("be or hold a handle".into()),
            Type::Base(Base::IntPtr { .. }) => Some("be or hold an __int3264".into()),
            Type::Base(_) => None,
            Type::Const(inner) => self.bad_element(inner, depth + 1),
            Type::Pointer { .. } | Type::SafeArray(_) | Type::Function(_) => {
                Some("be or hold a pointer".into())
            }
            Type::Array { len: None, .. } => Some("be or hold a conformant array".into()),
            Type::Array { element, .. } => self.bad_element(element, depth + 1),
            Type::Instance { .. } | Type::Param(_) => Some("be or hold an interface".into()),
            Type::Named(id) => {
                let item = self.item(*id)?;
                if let Some(a) = WIRE_REPLACING.iter().find(|a| item.has_attr(a)) {
                    return Some(format!("be of `{}`, which is [{a}]", item.name));
                }
                if item.has_attr("context_handle") {
                    return Some("be or hold a context handle".into());
                }
                if item.has_attr("v1_enum") && self.is_enum(ty) {
                    return None;
                }
                match &item.kind {
                    ItemKind::Typedef(inner) => self.bad_element(inner, depth + 1),
                    ItemKind::Enum(_) => Some(
                        "be or hold a 16-bit enum (mark the enum [v1_enum] to send 32 bits)".into(),
                    ),
                    ItemKind::Union(_) => Some("be or hold a union".into()),
                    ItemKind::Pipe(_) => Some("be or hold a pipe".into()),
                    ItemKind::Struct(r) => r.fields.iter().find_map(|f| {
                        if let Some(a) = f.attrs.iter().find(|a| is_varying(&a.name)) {
                            return Some(format!("hold a [{}] member (`{}`)", a.name, f.name));
                        }
                        self.bad_element(f.ty.as_ref()?, depth + 1)
                    }),
                    ItemKind::Interface(_)
                    | ItemKind::Dispinterface(_)
                    | ItemKind::Coclass(_)
                    | ItemKind::RuntimeClass(_)
                    | ItemKind::Delegate(_) => Some("be or hold an interface".into()),
                    _ => None,
                }
            }
        }
    }

    fn is_enum(&self, ty: &Type) -> bool {
        matches!(self.resolved(ty), Type::Named(id)
            if matches!(self.item(*id).map(|it| &it.kind), Some(ItemKind::Enum(_))))
    }
}

/// Member attributes that make data conformant or varying.
fn is_varying(attr: &str) -> bool {
    matches!(
        attr,
        "string" | "size_is" | "max_is" | "length_is" | "first_is" | "last_is"
    )
}

fn only_a_parameter(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(format!(
        "`{name}` holds a pipe, which can only be a parameter of a remote call"
    ))
    .at_with(
        span,
        "not a member, an array element or a pointer's target here",
    )
}
