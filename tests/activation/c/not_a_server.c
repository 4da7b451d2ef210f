/* A shared library that is not a COM server: it exports no DllGetClassObject. */
int comidl_test_not_a_server(void)
{
    return 1;
}
