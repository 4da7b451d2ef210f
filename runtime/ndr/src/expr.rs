//! Correlation expressions evaluated over C memory: the parameters of a call (an array of
//! pointers to each parameter's value) and the enclosing structure.

use crate::desc::{BinOp, Expr, UnOp};
use crate::error::{NdrError, Result};
use crate::layout::read_base;

/// Where an expression's names point: the call's parameters and the enclosing structure
/// (NULL outside one).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub params: &'a [*mut u8],
    pub base: *const u8,
}

/// Evaluates `e` with C's operators on 64-bit values. A NULL on the way, a parameter that
/// does not exist, a division by zero or an overflow is [`NdrError::InvalidBound`].
///
/// # Safety
/// Every parameter pointer is valid for its parameter's type, `base` (when an expression
/// names a field) points to the enclosing structure, and pointers the expression follows
/// are NULL or valid.
pub unsafe fn eval(e: &Expr, scope: Scope) -> Result<i64> {
    // SAFETY: forwarded from the caller; the depth is bounded by the static description.
    unsafe { eval_depth(e, scope, 0) }
}

unsafe fn eval_depth(e: &Expr, scope: Scope, depth: usize) -> Result<i64> {
    if depth > 64 {
        return Err(NdrError::InvalidBound);
    }
    let sub = |e: &Expr| {
        // SAFETY: as for `eval`.
        unsafe { eval_depth(e, scope, depth + 1) }
    };
    Ok(match e {
        Expr::Const(v) => *v,
        Expr::Param { index, derefs, ty } => {
            let p = *scope
                .params
                .get(usize::from(*index))
                .ok_or(NdrError::InvalidBound)?;
            // SAFETY: the parameter pointer is valid (caller).
            unsafe { load(p, *derefs, *ty)? }
        }
        Expr::Field { offset, derefs, ty } => {
            if scope.base.is_null() {
                return Err(NdrError::InvalidBound);
            }
            // SAFETY: the field lies inside the enclosing structure (caller).
            unsafe { load(scope.base.add(*offset as usize), *derefs, *ty)? }
        }
        Expr::Unary(op, a) => {
            let a = sub(a)?;
            match op {
                UnOp::Neg => a.checked_neg().ok_or(NdrError::InvalidBound)?,
                UnOp::Not => i64::from(a == 0),
                UnOp::BitNot => !a,
            }
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (sub(a)?, sub(b)?);
            let bad = NdrError::InvalidBound;
            match op {
                BinOp::Add => a.checked_add(b).ok_or(bad)?,
                BinOp::Sub => a.checked_sub(b).ok_or(bad)?,
                BinOp::Mul => a.checked_mul(b).ok_or(bad)?,
                BinOp::Div => a.checked_div(b).ok_or(bad)?,
                BinOp::Rem => a.checked_rem(b).ok_or(bad)?,
                BinOp::Shl => u32::try_from(b)
                    .ok()
                    .and_then(|b| a.checked_shl(b))
                    .ok_or(bad)?,
                BinOp::Shr => u32::try_from(b)
                    .ok()
                    .and_then(|b| a.checked_shr(b))
                    .ok_or(bad)?,
                BinOp::And => a & b,
                BinOp::Or => a | b,
                BinOp::Xor => a ^ b,
                BinOp::LogAnd => i64::from(a != 0 && b != 0),
                BinOp::LogOr => i64::from(a != 0 || b != 0),
                BinOp::Eq => i64::from(a == b),
                BinOp::Ne => i64::from(a != b),
                BinOp::Lt => i64::from(a < b),
                BinOp::Le => i64::from(a <= b),
                BinOp::Gt => i64::from(a > b),
                BinOp::Ge => i64::from(a >= b),
            }
        }
        Expr::Cond(c, a, b) => {
            if sub(c)? != 0 {
                sub(a)?
            } else {
                sub(b)?
            }
        }
    })
}

/// Reads a value of `ty` at `p` after following `derefs` pointers.
unsafe fn load(mut p: *const u8, derefs: u8, ty: crate::desc::Base) -> Result<i64> {
    for _ in 0..derefs {
        if p.is_null() {
            return Err(NdrError::InvalidBound);
        }
        // SAFETY: `p` points to a pointer-sized value (the caller's contract).
        p = unsafe { p.cast::<*const u8>().read_unaligned() };
    }
    if p.is_null() {
        return Err(NdrError::InvalidBound);
    }
    // SAFETY: `p` points to a value of `ty` (the caller's contract).
    Ok(unsafe { read_base(p, ty) })
}
