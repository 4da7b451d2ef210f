//! Custom attributes: the constructor reference (a MemberRef `.ctor` on a TypeRef to the
//! attribute type) and the fixed arguments, as the Win32 and WinRT metadata write them.

use windows_metadata::writer::{AttributeType, HasAttribute, MemberRefParent};
use windows_metadata::{MethodCallAttributes, Signature, Type as MdType, TypeName, Value};

use super::Gen;
use crate::ir::{AttrValue, Guid, Item};

/// `Windows.Foundation.Metadata`: GUIDs, versions, default interfaces.
pub const FOUNDATION: &str = "Windows.Foundation.Metadata";
/// `Windows.Win32.Metadata`: the Win32 metadata's own attributes.
pub const WIN32: &str = "Windows.Win32.Metadata";
/// `Comidl.Metadata`: what only IDL has (dispinterfaces, `[source]`).
pub const COMIDL: &str = "Comidl.Metadata";

impl Gen<'_> {
    /// Adds attribute `ns.name` with positional arguments `args` to `parent`.
    pub fn attribute(
        &mut self,
        parent: HasAttribute,
        ns: &str,
        name: &str,
        args: Vec<(MdType, Value)>,
    ) {
        let (types, values): (Vec<MdType>, Vec<(String, Value)>) = args
            .into_iter()
            .map(|(ty, value)| (ty, (String::new(), value)))
            .unzip();
        let signature = Signature {
            flags: MethodCallAttributes::HASTHIS,
            return_type: MdType::Void,
            types,
        };
        let class = self.file.TypeRef(ns, name);
        let ctor = self
            .file
            .MemberRef(".ctor", &signature, MemberRefParent::TypeRef(class));
        self.file
            .Attribute(parent, AttributeType::MemberRef(ctor), &values);
    }

    /// An attribute with named (field) arguments only, as the Win32 metadata writes
    /// `NativeArrayInfoAttribute(CountParamIndex = 0)`.
    pub fn named_attribute(
        &mut self,
        parent: HasAttribute,
        ns: &str,
        name: &str,
        named: Vec<(String, Value)>,
    ) {
        let signature = Signature {
            flags: MethodCallAttributes::HASTHIS,
            return_type: MdType::Void,
            types: Vec::new(),
        };
        let class = self.file.TypeRef(ns, name);
        let ctor = self
            .file
            .MemberRef(".ctor", &signature, MemberRefParent::TypeRef(class));
        self.file
            .Attribute(parent, AttributeType::MemberRef(ctor), &named);
    }

    /// An attribute without arguments.
    pub fn marker(&mut self, parent: HasAttribute, ns: &str, name: &str) {
        self.attribute(parent, ns, name, Vec::new());
    }

    /// `GuidAttribute(u32, u16, u16, u8 × 8)`.
    pub fn guid_attribute(&mut self, parent: HasAttribute, guid: &Guid) {
        let mut args = vec![
            (MdType::U32, Value::U32(guid.data1)),
            (MdType::U16, Value::U16(guid.data2)),
            (MdType::U16, Value::U16(guid.data3)),
        ];
        args.extend(guid.data4.iter().map(|b| (MdType::U8, Value::U8(*b))));
        self.attribute(parent, FOUNDATION, "GuidAttribute", args);
    }

    /// `VersionAttribute(u32)` with `major << 16 | minor`.
    pub fn version_attribute(&mut self, parent: HasAttribute, version: u32) {
        self.attribute(
            parent,
            FOUNDATION,
            "VersionAttribute",
            vec![(MdType::U32, Value::U32(version))],
        );
    }

    /// `System.ComponentModel.DescriptionAttribute(string)` for a `helpstring`.
    pub fn helpstring(&mut self, parent: HasAttribute, attrs: &[crate::ir::Attr]) {
        let text =
            attrs
                .iter()
                .find(|a| a.name == "helpstring")
                .and_then(|a| match a.args.first() {
                    Some(AttrValue::Str(s)) => Some(s.clone()),
                    _ => None,
                });
        if let Some(text) = text {
            self.string_attribute(
                parent,
                "System.ComponentModel",
                "DescriptionAttribute",
                text,
            );
        }
    }

    /// An attribute with one string argument.
    pub fn string_attribute(&mut self, parent: HasAttribute, ns: &str, name: &str, text: String) {
        self.attribute(parent, ns, name, vec![(MdType::String, Value::Utf8(text))]);
    }

    /// The `version(major.minor)` of an item as `major << 16 | minor`, if it has one that
    /// fits (a warning otherwise).
    pub fn version_of(&mut self, item: &Item) -> Option<u32> {
        let attr = item.attr("version")?;
        let text = match attr.args.first() {
            Some(AttrValue::Version(v) | AttrValue::Str(v)) => v.clone(),
            Some(AttrValue::Int(n)) => n.to_string(),
            Some(AttrValue::Float(f)) => f.to_string(),
            _ => return None,
        };
        match parse_version(&text) {
            Some(v) => Some(v),
            None => {
                self.diags.push(
                    crate::diag::Diagnostic::warning(format!(
                        "version `{text}` of `{}` does not fit two 16-bit numbers; the .winmd leaves it out",
                        item.name
                    ))
                    .at(attr.span),
                );
                None
            }
        }
    }
}

/// `"2.5"` → `0x0002_0005`; `"3"` → `0x0003_0000`.
pub fn parse_version(text: &str) -> Option<u32> {
    let mut parts = text.trim().splitn(2, '.');
    let major: u16 = parts.next()?.trim().parse().ok()?;
    let minor: u16 = match parts.next() {
        Some(m) => m.trim().parse().ok()?,
        None => 0,
    };
    Some(u32::from(major) << 16 | u32::from(minor))
}

/// `System.Runtime.InteropServices.CallingConvention` as an attribute argument type.
pub fn calling_convention_type() -> MdType {
    MdType::ValueName(TypeName::named(
        "System.Runtime.InteropServices",
        "CallingConvention",
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_pack_major_and_minor() {
        assert_eq!(parse_version("1.0"), Some(0x0001_0000));
        assert_eq!(parse_version("2.5"), Some(0x0002_0005));
        assert_eq!(parse_version("7"), Some(0x0007_0000));
        assert_eq!(parse_version("70000.1"), None);
        assert_eq!(parse_version("x"), None);
    }
}
