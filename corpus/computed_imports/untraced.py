# Never traced: another writer by prefix + name, another locale by a computed path.
print(write("latex", "hello"))
print(i18n.greeting("fr"))
