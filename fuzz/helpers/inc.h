/* Fixed helper #included by fuzz inputs. */
#pragma once
#define INC_VALUE 42
#define INC_ADD(a, b) ((a) + (b))
#define INC_STR(x) #x
#define INC_CAT(a, b) a ## b
#define INC_VA(fmt, ...) fmt, __VA_ARGS__
typedef INC_CAT(UL, ONG) INC_ULONG;
