//! The class registry (see mod docs once written).
