/* Calls the C++ objects of calculator_impl.cpp from C, through the C vtables and the
 * COBJMACROS of calculator.h (comidl's C header). Written for comidl's tests. */
#define COBJMACROS
#include <stdio.h>

#include "calculator.h"

IAdder *make_adder(void);
ICalculator *make_calculator(void);
int live_objects(void);

int main(void)
{
    IAdder *adder = make_adder();
    ICalculator *calculator = make_calculator();
    LONG result = 0, quotient = 0, remainder = 0;
    HRESULT hr;

    IAdder_Add(adder, 40, 2, &result);
    printf("Add %d\n", (int)result);
    ICalculator_Subtract(calculator, 50, 8, &result);
    printf("Subtract %d\n", (int)result);
    ICalculator_Multiply(calculator, 6, 7, &result);
    printf("Multiply %d\n", (int)result);
    ICalculator_Divide(calculator, 85, 2, &quotient, &remainder);
    printf("Divide %d %d\n", (int)quotient, (int)remainder);
    hr = ICalculator_Divide(calculator, 1, 0, &quotient, &remainder);
    printf("Divide by zero 0x%08x\n", (unsigned)hr);
    static const WCHAR plus[] = {'+', 0};
    const LONG values[] = {20, 22}, initial = 100;
    ICalculator_Fold(calculator, plus, 2, values, NULL, &result);
    printf("Fold %d", (int)result);
    ICalculator_Fold(calculator, plus, 1, values, &initial, &result);
    printf(" %d\n", (int)result);

    IUnknown *unknown = NULL;
    IAdder *not_an_adder = NULL;
    HRESULT found = ICalculator_QueryInterface(calculator, &IID_IUnknown, (void **)&unknown);
    HRESULT missing = ICalculator_QueryInterface(calculator, &IID_IAdder, (void **)&not_an_adder);
    printf("QueryInterface %d %d\n", (int)found, (int)missing);

    IUnknown_Release(unknown);
    ICalculator_Release(calculator);
    IAdder_Release(adder);
    printf("released %d\n", live_objects() == 0);
    return 0;
}
