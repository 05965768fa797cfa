// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The canary of make lib-tsan: two threads write one counter with no lock.
 * It must fail under ThreadSanitizer; if it passes, the sanitizer is not
 * working and a clean run of the real tests would prove nothing.
 */
#include <pthread.h>
#include <stdio.h>

static int counter;

static void *bump(void *arg)
{
	(void)arg;
	counter++;
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, bump, NULL);
	counter++;
	pthread_join(t, NULL);
	printf("counter %d\n", counter);
	return 0;
}
