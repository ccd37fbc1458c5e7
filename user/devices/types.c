/*
 * The device registry (device.h): every device type keel offers, one line
 * each. A new device kind is its own file plus one line here.
 */
#include "devices/device.h"

extern const struct device_type pci_bridge_type;
extern const struct device_type pcie_pci_bridge_type;
extern const struct device_type pcie_root_port_type;
extern const struct device_type pvpanic_pci_type;
extern const struct device_type virtio_blk_pci_type;
extern const struct device_type virtio_rng_pci_type;
extern const struct device_type virtio_serial_pci_type;
extern const struct device_type virtserialport_type;
extern const struct device_type virtconsole_type;
extern const struct device_type virtio_blk_device_type;
extern const struct device_type virtio_rng_device_type;
extern const struct device_type virtio_serial_device_type;

const struct device_type *const device_types[] = {
	&virtio_blk_pci_type,
	&virtio_rng_pci_type,
	&virtio_serial_pci_type,
	&virtserialport_type,
	&virtconsole_type,
	&pvpanic_pci_type,
	&pci_bridge_type,
	&pcie_pci_bridge_type,
	&pcie_root_port_type,
	&virtio_blk_device_type,
	&virtio_rng_device_type,
	&virtio_serial_device_type,
	NULL,
};
