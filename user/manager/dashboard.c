// SPDX-License-Identifier: GPL-2.0
/* The fleet dashboard, one static page, built into the manager. */
__asm__(".section .rodata\n"
	".global bpfc_dashboard_html\n"
	".type bpfc_dashboard_html, @object\n"
	".balign 16\n"
	"bpfc_dashboard_html:\n"
	".incbin \"user/manager/dashboard.html\"\n"
	".byte 0\n"
	".global bpfc_dashboard_html_len\n"
	".type bpfc_dashboard_html_len, @object\n"
	".balign 4\n"
	"bpfc_dashboard_html_len:\n"
	".int bpfc_dashboard_html_len - bpfc_dashboard_html - 1\n"
	".previous\n");
