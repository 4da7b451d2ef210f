/* A stand-in for the Windows SDK headers standins.idl includes through cpp_quote
 * (`#include <mmreg.h>`), for comidl's C header tests: the C definitions of the types
 * standins.idl declares only for the IDL compiler, with the layouts the SDK gives them
 * (WAVEFORMATEX is packed to 1 byte). Written for comidl's tests. */
#ifndef COMIDL_TEST_MMREG_H
#define COMIDL_TEST_MMREG_H

#pragma pack(push, 1)
typedef struct tWAVEFORMATEX
{
    WORD wFormatTag;
    WORD nChannels;
    DWORD nSamplesPerSec;
    DWORD nAvgBytesPerSec;
    WORD nBlockAlign;
    WORD wBitsPerSample;
    WORD cbSize;
} WAVEFORMATEX;
#pragma pack(pop)

typedef struct _AMMediaType
{
    GUID majortype;
    GUID subtype;
} AM_MEDIA_TYPE;

typedef struct D2D1_PIXEL_FORMAT
{
    unsigned int format;
    unsigned int alphaMode;
} D2D1_PIXEL_FORMAT;

#endif
