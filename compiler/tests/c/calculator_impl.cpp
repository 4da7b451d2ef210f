// C++ objects implementing the calculator's interfaces through the C++ classes of
// calculator.h (comidl's C header), handed to C code (calculator_calls.c), which calls them
// through the C vtables. Written for comidl's tests.
#include <cstring>

#include "calculator.h"

namespace {

const HRESULT e_nointerface = static_cast<HRESULT>(0x80004002u);
const HRESULT e_invalidarg = static_cast<HRESULT>(0x80070057u);

int live = 0;

bool same(REFIID a, const IID &b)
{
    return std::memcmp(a, &b, sizeof b) == 0;
}

template <class Base> class Object : public Base
{
public:
    Object() { ++live; }
    virtual ~Object() { --live; }

    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void **out) override
    {
        if (same(riid, IID_IUnknown) || same(riid, own_iid())) {
            *out = this;
            this->AddRef();
            return 0;
        }
        *out = nullptr;
        return e_nointerface;
    }
    ULONG STDMETHODCALLTYPE AddRef() override { return ++refs; }
    ULONG STDMETHODCALLTYPE Release() override
    {
        ULONG left = --refs;
        if (left == 0)
            delete this;
        return left;
    }

protected:
    virtual const IID &own_iid() const = 0;

private:
    ULONG refs = 1;
};

class AdderObject final : public Object<IAdder>
{
    HRESULT STDMETHODCALLTYPE Add(LONG a, LONG b, LONG *sum) override
    {
        *sum = a + b;
        return 0;
    }
    const IID &own_iid() const override { return IID_IAdder; }
};

class CalculatorObject final : public Object<ICalculator>
{
    HRESULT STDMETHODCALLTYPE Subtract(LONG a, LONG b, LONG *difference) override
    {
        *difference = a - b;
        return 0;
    }
    HRESULT STDMETHODCALLTYPE Multiply(LONG a, LONG b, LONG *product) override
    {
        *product = a * b;
        return 0;
    }
    HRESULT STDMETHODCALLTYPE Divide(LONG a, LONG b, LONG *quotient, LONG *remainder) override
    {
        if (b == 0)
            return e_invalidarg;
        *quotient = a / b;
        *remainder = a % b;
        return 0;
    }
    HRESULT STDMETHODCALLTYPE Fold(LPCWSTR op, ULONG count, const LONG *values, const LONG *initial,
                                   LONG *result) override
    {
        if (op == nullptr || op[0] != '+' || op[1] != 0 || (count > 0 && values == nullptr))
            return e_invalidarg;
        LONG total = initial ? *initial : 0;
        for (ULONG i = 0; i < count; i++)
            total += values[i];
        *result = total;
        return 0;
    }
    HRESULT STDMETHODCALLTYPE FoldObserved(LPCWSTR op, ULONG count, const LONG *values,
                                           IFoldObserver *observer, LONG *result) override
    {
        HRESULT hr = Fold(op, count, values, nullptr, result);
        if (hr == 0 && observer != nullptr)
            hr = observer->Step(0, count > 0 ? values[0] : 0, *result);
        return hr;
    }
    const IID &own_iid() const override { return IID_ICalculator; }
};

} // namespace

extern "C" IAdder *make_adder(void)
{
    return new AdderObject;
}

extern "C" ICalculator *make_calculator(void)
{
    return new CalculatorObject;
}

extern "C" int live_objects(void)
{
    return live;
}
