/*
 * Userspace stand-ins for the kernel facilities kmod/common/ring.c and
 * memtable.c use, so fuzz_vhost_ring runs the module's own split-ring and
 * memory-table code (VIRTIO 1.2 2.7) under libFuzzer, ASan and UBSan.
 */
#ifndef KSHIM_H
#define KSHIM_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef struct { int counter; } atomic_t;
typedef struct { int unused; } wait_queue_head_t;
typedef struct { int unused; } wait_queue_entry_t;
typedef struct { int unused; } poll_table;
struct mutex { int unused; };
struct eventfd_ctx;
struct file;
struct task_struct;
struct mm_struct;

#define __user
#define __force
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define GFP_KERNEL	0
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

#define le16_to_cpu(x)	((u16)(x))
#define le32_to_cpu(x)	((u32)(x))
#define le64_to_cpu(x)	((u64)(x))
#define cpu_to_le16(x)	((__le16)(x))
#define cpu_to_le32(x)	((__le32)(x))
#define cpu_to_le64(x)	((__le64)(x))

#define ERR_PTR(e)	((void *)(long)(e))
#define PTR_ERR(p)	((long)(p))
#define IS_ERR(p)	((unsigned long)(p) >= (unsigned long)-4095)
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define struct_size(p, m, n)	(sizeof(*(p)) + sizeof((p)->m[0]) * (n))
#define kvzalloc(n, gfp)	calloc(1, (n))
#define kvfree(p)		free(p)

/* The fuzzer's "user address space": only what it registered is mapped. */
bool kshim_access_ok(const void *p, size_t n);
#define access_ok(p, n)	kshim_access_ok((const void *)(p), (n))

static inline unsigned long copy_from_user(void *to, const void *from, unsigned long n)
{
	if (!kshim_access_ok(from, n))
		return n;
	memcpy(to, from, n);
	return 0;
}

static inline unsigned long copy_to_user(void *to, const void *from, unsigned long n)
{
	if (!kshim_access_ok(to, n))
		return n;
	memcpy(to, from, n);
	return 0;
}

#define get_user(x, ptr) ({						\
	__typeof__(*(ptr)) __gu;					\
	int __e = copy_from_user(&__gu, (ptr), sizeof(__gu)) ? -EFAULT : 0; \
	if (!__e)							\
		(x) = __gu;						\
	__e;								\
})
#define put_user(x, ptr) ({						\
	__typeof__(*(ptr)) __pu = (x);					\
	copy_to_user((ptr), &__pu, sizeof(__pu)) ? -EFAULT : 0;		\
})

static inline u64 eventfd_signal(struct eventfd_ctx *ctx, u64 n)
{
	(void)ctx;
	return n;
}

#endif
