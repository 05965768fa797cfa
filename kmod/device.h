/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDIST_DEVICE_H
#define _KDIST_DEVICE_H

int kdist_device_init(void);
void kdist_device_exit(void);

#endif /* _KDIST_DEVICE_H */
