/*
 * kvm-pin: holds one idle KVM VM (in-kernel irqchip, one vCPU that never runs)
 * for as long as L2 is up. KVM flips static keys when the first VM with a
 * software-disabled local APIC appears and after the last one goes away (the
 * lapic "apic_sw_disabled" key), and each flip live-patches L2's kernel text
 * with int3 and IPIs. Under QEMU-TCG that patching is where L2 was seen to
 * hang (one vCPU in exc_int3, the other spinning). With this VM alive the key
 * never returns to zero, so VMM starts and exits patch nothing.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm, vm, vcpu;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-pin: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		perror("kvm-pin: KVM_CREATE_VM/IRQCHIP");
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		perror("kvm-pin: KVM_CREATE_VCPU");
		return 1;
	}
	printf("KEEL-L2: kvm-pin: holding an idle VM (vCPU fd %d)\n", vcpu);
	fflush(stdout);
	for (;;)
		pause();
}
