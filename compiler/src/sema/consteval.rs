//! Constant expressions with C semantics: integers carry a width (32 or 64 bits, as on
//! Windows where `long` is 32) and a signedness, literals take the first type that holds
//! them, operands go through the usual arithmetic conversions, and results wrap to their
//! type. So `0xFFFFFFFF` is an `unsigned int`, `~0u` is `0xFFFFFFFF` and `1 << 31` is
//! `INT_MIN`, exactly what MIDL and a C compiler compute.

use crate::diag::Diagnostic;
use crate::ir::Value;
use crate::source::Span;
use crate::syntax::ast::{BaseKind, BinaryOp, Expr, ExprKind, Signedness, TypeSpec, UnaryOp};

/// An integer with its C type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CInt {
    pub value: i128,
    pub bits: u32,
    pub unsigned: bool,
}

impl CInt {
    pub fn new(value: i128, bits: u32, unsigned: bool) -> CInt {
        CInt {
            value: wrap(value, bits, unsigned),
            bits,
            unsigned,
        }
    }

    pub fn int(value: i128) -> CInt {
        CInt::new(value, 32, false)
    }

    /// The type a literal takes: int, unsigned int (hex/octal or `u`), then the 64-bit ones.
    fn literal(value: u64, unsigned_suffix: bool, decimal: bool) -> CInt {
        let v = i128::from(value);
        let (bits, unsigned) = if !unsigned_suffix && v <= i128::from(i32::MAX) {
            (32, false)
        } else if (unsigned_suffix || !decimal) && v <= i128::from(u32::MAX) {
            (32, true)
        } else if !unsigned_suffix && v <= i128::from(i64::MAX) {
            (64, false)
        } else {
            (64, true)
        };
        CInt::new(v, bits, unsigned)
    }
}

/// Reduces `v` to what a `bits`-wide integer of the given signedness holds (C's
/// conversion; the backends write constants with it too).
pub fn wrap(v: i128, bits: u32, unsigned: bool) -> i128 {
    let modulus = 1i128 << bits;
    let m = v.rem_euclid(modulus);
    if !unsigned && m >= modulus / 2 {
        m - modulus
    } else {
        m
    }
}

/// The common type of two operands (C's usual arithmetic conversions, int and up).
fn common(a: CInt, b: CInt) -> (u32, bool) {
    if a.bits != b.bits {
        let wide = if a.bits > b.bits { a } else { b };
        return (wide.bits, wide.unsigned);
    }
    (a.bits, a.unsigned || b.unsigned)
}

/// What a name in an expression means, answered by sema.
pub enum NameValue {
    Value(Value),
    /// The name is known but has no compile-time value (a field, a parameter).
    NotConstant,
    /// The name is a type: its integer width and signedness when it is an integer type.
    Type(Option<(u32, bool)>),
    /// The constant's value depends on itself.
    Cycle,
    /// An enumerator used by an earlier enumerator of its own enum.
    NotYet,
    /// Constants refer to one another too deeply to follow.
    TooDeep,
    Unknown,
}

/// Evaluates expressions, asking `names` what identifiers mean.
pub struct Evaluator<'n> {
    pub names: &'n mut dyn FnMut(&str) -> NameValue,
}

enum V {
    Int(CInt),
    Float(f64),
    Str(String),
    Unevaluated,
}

impl Evaluator<'_> {
    /// Evaluates a constant expression, or explains why it is not one.
    pub fn eval(&mut self, e: &Expr) -> Result<Value, Diagnostic> {
        Ok(match self.value(e)? {
            V::Int(i) => Value::Int(i.value),
            V::Float(f) => Value::Float(f),
            V::Str(s) => Value::Str(s),
            V::Unevaluated => Value::Unevaluated,
        })
    }

    /// Evaluates an expression that must be an integer constant.
    pub fn eval_int(&mut self, e: &Expr) -> Result<i128, Diagnostic> {
        match self.value(e)? {
            V::Int(i) => Ok(i.value),
            V::Float(_) | V::Str(_) | V::Unevaluated => {
                Err(Diagnostic::error("expression is not an integer constant").at(e.span))
            }
        }
    }

    fn int(&mut self, e: &Expr) -> Result<CInt, Diagnostic> {
        match self.value(e)? {
            V::Int(i) => Ok(i),
            _ => Err(Diagnostic::error("expression is not an integer constant").at(e.span)),
        }
    }

    fn value(&mut self, e: &Expr) -> Result<V, Diagnostic> {
        Ok(match &e.kind {
            ExprKind::Int {
                value,
                unsigned,
                decimal,
            } => V::Int(CInt::literal(*value, *unsigned, *decimal)),
            ExprKind::Float(f) => V::Float(*f),
            ExprKind::Char(c) => V::Int(CInt::int(i128::from(*c))),
            ExprKind::Str(s) => V::Str(s.value.clone()),
            ExprKind::Name(name) => match (self.names)(name) {
                NameValue::Value(Value::Int(i)) => V::Int(fit(i)),
                NameValue::Value(Value::Float(f)) => V::Float(f),
                NameValue::Value(Value::Str(s)) => V::Str(s),
                NameValue::Value(Value::Unevaluated) => V::Unevaluated,
                NameValue::NotConstant => {
                    return Err(Diagnostic::error(format!("`{name}` is not a constant")).at(e.span));
                }
                NameValue::Type(_) => {
                    return Err(
                        Diagnostic::error(format!("`{name}` is a type, not a constant")).at(e.span),
                    );
                }
                NameValue::Cycle => {
                    return Err(Diagnostic::error(format!(
                        "the value of `{name}` depends on itself"
                    ))
                    .at(e.span));
                }
                NameValue::NotYet => {
                    return Err(Diagnostic::error(format!(
                        "`{name}` is used before its value is defined"
                    ))
                    .at_with(e.span, "an enumerator may only use those defined before it"));
                }
                NameValue::TooDeep => {
                    return Err(Diagnostic::error(
                        "constants refer to one another too deeply to evaluate",
                    )
                    .at(e.span));
                }
                NameValue::Unknown => {
                    return Err(Diagnostic::error(format!("unknown constant `{name}`"))
                        .at_with(e.span, "not declared in this file or any file it imports"));
                }
            },
            ExprKind::Unary(op, inner) => self.unary(*op, inner)?,
            ExprKind::Binary(op, a, b) => match self.cast_in_disguise(*op, a) {
                // `(ULONG) - 1` parses as a subtraction; with ULONG a type it is a cast.
                Some(target) => {
                    let operand = Expr {
                        kind: ExprKind::Unary(disguised_unary(*op), b.clone()),
                        span: b.span,
                    };
                    self.cast(target, &operand)?
                }
                None => self.binary(*op, a, b, e.span)?,
            },
            ExprKind::Ternary(c, a, b) => {
                if self.int(c)?.value != 0 {
                    self.value(a)?
                } else {
                    self.value(b)?
                }
            }
            ExprKind::Cast(ty, inner) => {
                let target = match (&ty.spec.ty, ty.ops.is_empty()) {
                    (_, false) => None,
                    (TypeSpec::Named(name, args), true) if args.is_empty() => {
                        match (self.names)(&name.dotted()) {
                            NameValue::Type(t) => t,
                            _ => None,
                        }
                    }
                    (spec, true) => integer_type(spec),
                };
                self.cast(target, inner)?
            }
            // sizeof needs layout, which is computed by later stages.
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) => V::Unevaluated,
            ExprKind::Member(..) | ExprKind::Arrow(..) | ExprKind::Index(..) => {
                return Err(Diagnostic::error("expression is not a constant").at(e.span));
            }
        })
    }

    /// Converts to an integer type; a cast to anything else (a pointer, a handle) is left to
    /// the C compiler, though the operand must still be a valid expression.
    fn cast(&mut self, target: Option<(u32, bool)>, inner: &Expr) -> Result<V, Diagnostic> {
        let v = self.value(inner)?;
        Ok(match (target, v) {
            (Some((bits, unsigned)), V::Int(i)) => V::Int(CInt::new(i.value, bits, unsigned)),
            (Some((bits, unsigned)), V::Float(f)) => V::Int(CInt::new(f as i128, bits, unsigned)),
            (Some(_), other) => other,
            (None, _) => V::Unevaluated,
        })
    }

    /// `Some(target)` when `lhs op ...` is really `(TYPE) op ...`, a cast of a unary operand.
    fn cast_in_disguise(&mut self, op: BinaryOp, lhs: &Expr) -> Option<Option<(u32, bool)>> {
        if !matches!(
            op,
            BinaryOp::Sub | BinaryOp::Add | BinaryOp::Mul | BinaryOp::BitAnd
        ) {
            return None;
        }
        let ExprKind::Name(name) = &lhs.kind else {
            return None;
        };
        match (self.names)(name) {
            NameValue::Type(t) => Some(t),
            _ => None,
        }
    }

    fn unary(&mut self, op: UnaryOp, inner: &Expr) -> Result<V, Diagnostic> {
        let v = self.value(inner)?;
        Ok(match (op, v) {
            (UnaryOp::Plus, v) => v,
            (UnaryOp::Neg, V::Int(i)) => V::Int(CInt::new(-i.value, i.bits, i.unsigned)),
            (UnaryOp::Neg, V::Float(f)) => V::Float(-f),
            (UnaryOp::BitNot, V::Int(i)) => V::Int(CInt::new(!i.value, i.bits, i.unsigned)),
            (UnaryOp::Not, V::Int(i)) => V::Int(CInt::int(i128::from(i.value == 0))),
            (UnaryOp::Not, V::Float(f)) => V::Int(CInt::int(i128::from(f == 0.0))),
            (_, V::Unevaluated) => V::Unevaluated,
            (UnaryOp::Deref | UnaryOp::AddrOf, _) => {
                return Err(Diagnostic::error("expression is not a constant").at(inner.span));
            }
            (_, _) => {
                return Err(
                    Diagnostic::error("operator does not apply to this operand").at(inner.span)
                );
            }
        })
    }

    fn binary(&mut self, op: BinaryOp, a: &Expr, b: &Expr, span: Span) -> Result<V, Diagnostic> {
        let (x, y) = match (self.value(a)?, self.value(b)?) {
            (V::Int(x), V::Int(y)) => (x, y),
            (V::Unevaluated, _) | (_, V::Unevaluated) => return Ok(V::Unevaluated),
            (V::Float(x), V::Float(y)) => return float_binary(op, x, y, span),
            (V::Float(x), V::Int(y)) => return float_binary(op, x, y.value as f64, span),
            (V::Int(x), V::Float(y)) => return float_binary(op, x.value as f64, y, span),
            _ => {
                return Err(Diagnostic::error("operands are not numbers").at(span));
            }
        };
        let (bits, unsigned) = common(x, y);
        let (xv, yv) = (wrap(x.value, bits, unsigned), wrap(y.value, bits, unsigned));
        let truth = |b: bool| V::Int(CInt::int(i128::from(b)));
        let arith = |v: i128| V::Int(CInt::new(v, bits, unsigned));
        Ok(match op {
            BinaryOp::Add => arith(xv + yv),
            BinaryOp::Sub => arith(xv - yv),
            BinaryOp::Mul => arith(xv.wrapping_mul(yv)),
            BinaryOp::Div | BinaryOp::Rem => {
                if yv == 0 {
                    return Err(
                        Diagnostic::error("division by zero in a constant expression").at(b.span),
                    );
                }
                arith(if op == BinaryOp::Div {
                    xv / yv
                } else {
                    xv % yv
                })
            }
            BinaryOp::Shl | BinaryOp::Shr => {
                // The result has the (promoted) type of the left operand.
                if !(0..i128::from(x.bits)).contains(&y.value) {
                    return Err(Diagnostic::error(format!(
                        "shift by {} is out of range for a {}-bit value",
                        y.value, x.bits
                    ))
                    .at(b.span));
                }
                let shift = y.value as u32;
                let v = if op == BinaryOp::Shl {
                    x.value << shift
                } else {
                    x.value >> shift
                };
                V::Int(CInt::new(v, x.bits, x.unsigned))
            }
            BinaryOp::BitAnd => arith(xv & yv),
            BinaryOp::BitOr => arith(xv | yv),
            BinaryOp::BitXor => arith(xv ^ yv),
            BinaryOp::LogAnd => truth(xv != 0 && yv != 0),
            BinaryOp::LogOr => truth(xv != 0 || yv != 0),
            BinaryOp::Eq => truth(xv == yv),
            BinaryOp::Ne => truth(xv != yv),
            BinaryOp::Lt => truth(xv < yv),
            BinaryOp::Gt => truth(xv > yv),
            BinaryOp::Le => truth(xv <= yv),
            BinaryOp::Ge => truth(xv >= yv),
        })
    }
}

/// The unary operator a binary one stands for after a disguised cast.
fn disguised_unary(op: BinaryOp) -> UnaryOp {
    match op {
        BinaryOp::Sub => UnaryOp::Neg,
        BinaryOp::Mul => UnaryOp::Deref,
        BinaryOp::BitAnd => UnaryOp::AddrOf,
        _ => UnaryOp::Plus,
    }
}

fn float_binary(op: BinaryOp, x: f64, y: f64, span: Span) -> Result<V, Diagnostic> {
    let truth = |b: bool| V::Int(CInt::int(i128::from(b)));
    Ok(match op {
        BinaryOp::Add => V::Float(x + y),
        BinaryOp::Sub => V::Float(x - y),
        BinaryOp::Mul => V::Float(x * y),
        BinaryOp::Div => V::Float(x / y),
        BinaryOp::Eq => truth(x == y),
        BinaryOp::Ne => truth(x != y),
        BinaryOp::Lt => truth(x < y),
        BinaryOp::Gt => truth(x > y),
        BinaryOp::Le => truth(x <= y),
        BinaryOp::Ge => truth(x >= y),
        _ => {
            return Err(
                Diagnostic::error("operator does not apply to floating-point values").at(span),
            );
        }
    })
}

/// A named constant's value re-typed: 32-bit when it fits, as enumerators and most
/// constants are, otherwise 64-bit.
fn fit(v: i128) -> CInt {
    if i32::try_from(v).is_ok() {
        CInt::int(v)
    } else if u32::try_from(v).is_ok() {
        CInt::new(v, 32, true)
    } else if i64::try_from(v).is_ok() {
        CInt::new(v, 64, false)
    } else {
        CInt::new(v, 64, true)
    }
}

/// The width and signedness of a built-in integer type used in a cast.
pub(crate) fn integer_type(spec: &TypeSpec) -> Option<(u32, bool)> {
    let TypeSpec::Base(kind, sign) = spec else {
        return None;
    };
    let unsigned = *sign == Signedness::Unsigned;
    Some(match kind {
        BaseKind::Char | BaseKind::Small | BaseKind::Int8 | BaseKind::Byte | BaseKind::Boolean => (
            8,
            unsigned || matches!(kind, BaseKind::Byte | BaseKind::Boolean),
        ),
        BaseKind::Short | BaseKind::Int16 | BaseKind::WChar => {
            (16, unsigned || *kind == BaseKind::WChar)
        }
        BaseKind::Int | BaseKind::Long | BaseKind::Int32 => (32, unsigned),
        BaseKind::LongLong | BaseKind::Hyper | BaseKind::Int64 | BaseKind::Int3264 => {
            (64, unsigned)
        }
        BaseKind::Void | BaseKind::Float | BaseKind::Double => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn lit(value: u64) -> Expr {
        Expr {
            kind: ExprKind::Int {
                value,
                unsigned: false,
                decimal: false,
            },
            span: Span::new(FileId(0), 0, 1),
        }
    }

    fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        Expr {
            kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
            span: Span::new(FileId(0), 0, 1),
        }
    }

    fn eval(e: &Expr) -> Result<Value, Diagnostic> {
        let mut names = |_: &str| NameValue::Unknown;
        Evaluator { names: &mut names }.eval(e)
    }

    #[test]
    fn c_integer_semantics() {
        assert_eq!(
            eval(&bin(BinaryOp::Shl, lit(1), lit(31))).unwrap(),
            Value::Int(-2147483648)
        );
        assert_eq!(eval(&lit(0xFFFF_FFFF)).unwrap(), Value::Int(0xFFFF_FFFF));
        let not_zero = Expr {
            kind: ExprKind::Unary(UnaryOp::BitNot, Box::new(lit(0))),
            span: Span::new(FileId(0), 0, 1),
        };
        assert_eq!(eval(&not_zero).unwrap(), Value::Int(-1));
        assert_eq!(
            eval(&bin(BinaryOp::Add, lit(0xFFFF_FFFF), lit(1))).unwrap(),
            Value::Int(0),
            "unsigned int wraps"
        );
        assert_eq!(
            eval(&bin(BinaryOp::Sub, lit(0), lit(1))).unwrap(),
            Value::Int(-1)
        );
    }

    #[test]
    fn errors_are_located_not_panics() {
        assert!(eval(&bin(BinaryOp::Div, lit(1), lit(0))).is_err());
        assert!(eval(&bin(BinaryOp::Shl, lit(1), lit(99))).is_err());
        let name = Expr {
            kind: ExprKind::Name("NOPE".into()),
            span: Span::new(FileId(0), 3, 7),
        };
        let d = eval(&name).unwrap_err();
        assert_eq!(d.primary.unwrap().span.start, 3);
    }
}
