# Never traced (the tests pack the app alone): codecs the traced run did not use, found by name,
# and sysconfig, which imports its data module by a computed name.
print("façade".encode("cp850"), "Ωmega".encode("mac_greek"))
import sysconfig

print(sysconfig.get_config_var("MACHDEP"))
