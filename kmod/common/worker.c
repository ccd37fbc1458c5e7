// SPDX-License-Identifier: GPL-2.0
/*
 * Per-virtqueue worker: a kthread that adopts the owner's mm so ring and
 * buffer addresses are plain user addresses, and runs the backend handler.
 */
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include "kv.h"

#define KV_WORK_BIT	0

static int kv_worker_fn(void *data)
{
	struct kv_vq *vq = data;
	struct mm_struct *mm = vq->dev->mm;

	kthread_use_mm(mm);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		if (!test_and_clear_bit(KV_WORK_BIT, &vq->work)) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		mutex_lock(&vq->mutex);
		vq->handle(vq);
		mutex_unlock(&vq->mutex);
		cond_resched();
	}
	kthread_unuse_mm(mm);
	return 0;
}

void kv_worker_queue(struct kv_vq *vq)
{
	if (!test_and_set_bit(KV_WORK_BIT, &vq->work) && vq->worker)
		wake_up_process(vq->worker);
}

int kv_worker_start(struct kv_vq *vq)
{
	struct task_struct *t;

	t = kthread_create(kv_worker_fn, vq, "%s-%d.%u", vq->dev->name,
			   task_pid_nr(current), vq->index);
	if (IS_ERR(t))
		return PTR_ERR(t);
	vq->worker = t;
	vq->work = 0;
	wake_up_process(t);
	return 0;
}

/* Callers drain the queue first: the worker must not hold requests. */
void kv_worker_stop(struct kv_vq *vq)
{
	if (!vq->worker)
		return;
	kthread_stop(vq->worker);
	vq->worker = NULL;
}
