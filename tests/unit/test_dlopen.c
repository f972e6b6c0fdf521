/*
 * test_dlopen.c - the shared object loads on its own and exports exactly
 * the public API (the version script hides everything else).
 */
#include <dlfcn.h>

#include "testutil.h"
#include "tokencache.h"

static const char *
lib_path(void)
{
	const char *p = getenv("TC_SHLIB");

	return p != NULL ? p : "build/libtokencache.so.0";
}

START_TEST(test_exports)
{
	static const char *const api[] = {
		"tc_open", "tc_get", "tc_get_wait", "tc_refresh", "tc_close",
		"tc_strerror", "tc_version",
	};
	static const char *const internal[] = {
		"seg_map_fd", "seg_file_load", "seg_read_slot", "seg_hash", "seg_derive_key",
		"proto_call", "proto_req_init", "proto_runtime_dir",
	};
	const char *(*version)(void);
	void *h;
	size_t i;

	h = dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen %s: %s", lib_path(), dlerror());
	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		ck_assert_msg(dlsym(h, api[i]) != NULL, "%s not exported",
		    api[i]);
	for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		ck_assert_msg(dlsym(h, internal[i]) == NULL, "%s exported",
		    internal[i]);
	/* The versioned node is there. */
	ck_assert_ptr_nonnull(dlvsym(h, "tc_get", "TOKENCACHE_0.1"));
	*(void **)&version = dlsym(h, "tc_version");
	ck_assert_str_eq(version(), TC_VERSION_STRING);
	ck_assert_int_eq(dlclose(h), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dlopen");
	TCase *tc = tcase_create("shared object");

	tcase_add_test(tc, test_exports);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
