# F31-disk-hotplug-pc: the same on pc's bus 0 through ACPI hotplug (acpiphp).
disk_hotplug pc
