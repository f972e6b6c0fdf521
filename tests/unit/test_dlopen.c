/*
 * test_dlopen.c - the shared object loads on its own and exports exactly
 * what libclient/libtokencache.sym lists: its whole dynamic symbol table
 * (every defined global symbol with its version) is read from the file's
 * ELF sections and compared with the version script, both ways.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tokencache.h"

static const char *
lib_path(void)
{
	const char *p = getenv("TC_SHLIB");

	return p != NULL ? p : "build/libtokencache.so.0";
}

static const char *
sym_path(void)
{
	const char *p = getenv("TC_SYMFILE");

	return p != NULL ? p : "libclient/libtokencache.sym";
}

/* "name@VERSION" strings, for the comparison. */
#define MAXSYMS 256
struct symset {
	char *s[MAXSYMS];
	size_t n;
};

static void
symset_add(struct symset *set, const char *name, const char *version)
{
	ck_assert_msg(set->n < MAXSYMS, "too many symbols");
	ck_assert_int_ge(asprintf(&set->s[set->n++], "%s@%s", name, version),
	    0);
}

static int
symset_has(const struct symset *set, const char *s)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->s[i], s) == 0)
			return 1;
	return 0;
}

static void
symset_free(struct symset *set)
{
	while (set->n > 0)
		free(set->s[--set->n]);
}

/*
 * The version script's global names, each with its node: nodes are
 * "NAME {", names are "name;" after "global:", "local:" lists none we
 * want ("*"), and "} PARENT;" closes a node.  Comments are C comments.
 */
static void
read_version_script(const char *path, struct symset *set)
{
	size_t len, i = 0, j;
	unsigned char *text = tu_slurp(path, &len);
	char node[64] = "", word[128];
	int global = 0, depth = 0;

	ck_assert_msg(text != NULL, "cannot read %s", path);
	while (i < len) {
		if (text[i] == '/' && i + 1 < len && text[i + 1] == '*') {
			char *end = strstr((char *)text + i + 2, "*/");

			ck_assert_msg(end != NULL, "%s: open comment", path);
			i = (size_t)(end - (char *)text) + 2;
			continue;
		}
		if (text[i] == '{') {
			depth++;
			global = 0;
			i++;
			continue;
		}
		if (text[i] == '}') {
			depth--;
			global = 0;
			node[0] = '\0';
			i++;
			/* the parent's name and ';' */
			while (i < len && text[i] != ';')
				i++;
			i++;
			continue;
		}
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
		    text[i] == ';') {
			i++;
			continue;
		}
		for (j = 0; i < len && j < sizeof(word) - 1 &&
		    strchr(" \t\n;{}", text[i]) == NULL; i++)
			word[j++] = (char)text[i];
		word[j] = '\0';
		if (depth == 0) {
			ck_assert_msg(strlen(word) < sizeof(node), "%s", word);
			strcpy(node, word);
		} else if (strcmp(word, "global:") == 0) {
			global = 1;
		} else if (strcmp(word, "local:") == 0) {
			global = 0;
		} else if (global) {
			ck_assert_msg(node[0] != '\0', "%s: %s outside a node",
			    path, word);
			symset_add(set, word, node);
		}
	}
	ck_assert_int_eq(depth, 0);
	free(text);
}

/* The ELF file mapped, and its section headers. */
struct elf {
	unsigned char *base;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
};

static void
elf_open(struct elf *e, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s", path);
	ck_assert_int_eq(fstat(fd, &st), 0);
	e->size = (size_t)st.st_size;
	e->base = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert(e->base != MAP_FAILED);
	close(fd);
	e->eh = (const Elf64_Ehdr *)(const void *)e->base;
	ck_assert(e->size >= sizeof(*e->eh) &&
	    memcmp(e->eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	    e->eh->e_ident[EI_CLASS] == ELFCLASS64);
	ck_assert(e->eh->e_shoff + (size_t)e->eh->e_shnum *
	    sizeof(Elf64_Shdr) <= e->size);
	e->sh = (const Elf64_Shdr *)(const void *)(e->base + e->eh->e_shoff);
}

static const Elf64_Shdr *
elf_section(const struct elf *e, Elf64_Word type)
{
	size_t i;

	for (i = 0; i < e->eh->e_shnum; i++)
		if (e->sh[i].sh_type == type) {
			ck_assert(e->sh[i].sh_offset + e->sh[i].sh_size <=
			    e->size);
			return &e->sh[i];
		}
	return NULL;
}

/* The name of version index idx, from the version definitions. */
static const char *
elf_version(const struct elf *e, const Elf64_Shdr *verdef, const char *str,
    unsigned idx)
{
	const unsigned char *p = e->base + verdef->sh_offset;
	const Elf64_Verdef *vd;
	size_t i;

	for (i = 0; i < verdef->sh_info; i++) {
		vd = (const Elf64_Verdef *)(const void *)p;
		if (vd->vd_ndx == idx && !(vd->vd_flags & VER_FLG_BASE))
			return str + ((const Elf64_Verdaux *)(const void *)
			    (p + vd->vd_aux))->vda_name;
		p += vd->vd_next;
	}
	return NULL;
}

/*
 * Every symbol the object exports, as "name@VERSION" (a symbol without a
 * version gets "name@", which no node of the script matches).
 */
static void
read_dynsym(const struct elf *e, struct symset *set)
{
	const Elf64_Shdr *ds = elf_section(e, SHT_DYNSYM),
	    *vs = elf_section(e, SHT_GNU_versym),
	    *vd = elf_section(e, SHT_GNU_verdef);
	const Elf64_Sym *sym;
	const Elf64_Half *ver;
	const char *str, *name, *version;
	size_t i, n;

	ck_assert(ds != NULL && vs != NULL && vd != NULL);
	sym = (const Elf64_Sym *)(const void *)(e->base + ds->sh_offset);
	ver = (const Elf64_Half *)(const void *)(e->base + vs->sh_offset);
	str = (const char *)e->base + e->sh[ds->sh_link].sh_offset;
	n = ds->sh_size / sizeof(*sym);
	ck_assert_uint_eq(vs->sh_size / sizeof(*ver), n);
	for (i = 1; i < n; i++) {
		if (sym[i].st_shndx == SHN_UNDEF ||
		    ELF64_ST_BIND(sym[i].st_info) == STB_LOCAL)
			continue;
		name = str + sym[i].st_name;
		version = elf_version(e, vd, str, ver[i] & 0x7fff);
		/* The version nodes' own (absolute) symbols. */
		if (sym[i].st_shndx == SHN_ABS && version != NULL &&
		    strcmp(name, version) == 0)
			continue;
		symset_add(set, name, version != NULL ? version : "");
	}
}

/* Is name in the object's full symbol table (.symtab), if it has one? */
static int
in_symtab(const struct elf *e, const char *name)
{
	const Elf64_Shdr *ss = elf_section(e, SHT_SYMTAB);
	const Elf64_Sym *sym;
	const char *str;
	size_t i, n;

	if (ss == NULL)
		return 0;
	sym = (const Elf64_Sym *)(const void *)(e->base + ss->sh_offset);
	str = (const char *)e->base + e->sh[ss->sh_link].sh_offset;
	n = ss->sh_size / sizeof(*sym);
	for (i = 1; i < n; i++)
		if (strcmp(str + sym[i].st_name, name) == 0)
			return 1;
	return 0;
}

START_TEST(test_dynamic_symbols_are_the_script)
{
	struct symset want = { .n = 0 }, have = { .n = 0 };
	struct elf e;
	size_t i;

	read_version_script(sym_path(), &want);
	ck_assert_uint_gt(want.n, 0);
	elf_open(&e, lib_path());
	read_dynsym(&e, &have);
	for (i = 0; i < have.n; i++)
		ck_assert_msg(symset_has(&want, have.s[i]),
		    "%s exports %s, which %s does not list", lib_path(),
		    have.s[i], sym_path());
	for (i = 0; i < want.n; i++)
		ck_assert_msg(symset_has(&have, want.s[i]),
		    "%s lists %s, which %s does not export", sym_path(),
		    want.s[i], lib_path());
	/* Daemon-only code is not in the library at all. */
	ck_assert_msg(!in_symtab(&e, "seg_derive_key"),
	    "seg_derive_key is in %s", lib_path());
	munmap(e.base, e.size);
	symset_free(&want);
	symset_free(&have);
}
END_TEST

START_TEST(test_exports)
{
	static const char *const api[] = {
		"tc_open", "tc_get", "tc_get_wait", "tc_refresh", "tc_close",
		"tc_strerror", "tc_version",
	};
	const char *(*version)(void);
	void *h;
	size_t i;

	h = dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen %s: %s", lib_path(), dlerror());
	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		ck_assert_msg(dlsym(h, api[i]) != NULL, "%s not exported",
		    api[i]);
	/* The versioned node is there. */
	ck_assert_ptr_nonnull(dlvsym(h, "tc_get", "TOKENCACHE_0.1"));
	/* tc_token_info with its size (0.2): the default version. */
	ck_assert_ptr_eq(dlvsym(h, "tc_get", "TOKENCACHE_0.2"), dlsym(h, "tc_get"));
	ck_assert_ptr_ne(dlvsym(h, "tc_get", "TOKENCACHE_0.1"),
	    dlvsym(h, "tc_get", "TOKENCACHE_0.2"));
	*(void **)&version = dlsym(h, "tc_version");
	ck_assert_str_eq(version(), TC_VERSION_STRING);
	ck_assert_int_eq(dlclose(h), 0);
}
END_TEST

/*
 * A program built against 0.1.0 calls tc_get@TOKENCACHE_0.1 with the
 * struct that had no size: the call is served, and an error that leaves
 * info alone leaves every byte of it alone.  One built now calls
 * tc_get@TOKENCACHE_0.2, which refuses a struct whose size is not set.
 */
START_TEST(test_versions_of_tc_get)
{
	struct {
		int64_t expires_at, expires_in_ms, fetched_at;
		uint64_t generation;
		size_t length;
		char token_type[TC_TYPE_MAX];
		char error[TC_ERROR_MAX];
	} old;
	unsigned char copy[sizeof(old)];
	tc_token_info info;
	int (*open_)(tc_client **, const char *);
	void (*close_)(tc_client *);
	int (*get_0_1)(tc_client *, const char *, char *, size_t, void *);
	int (*get_0_2)(tc_client *, const char *, char *, size_t,
	    tc_token_info *);
	char *dir = tu_tmpdir(), buf[64];
	tc_client *c;
	void *h;

	h = dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen %s: %s", lib_path(), dlerror());
	*(void **)&open_ = dlsym(h, "tc_open");
	*(void **)&close_ = dlsym(h, "tc_close");
	*(void **)&get_0_1 = dlvsym(h, "tc_get", "TOKENCACHE_0.1");
	*(void **)&get_0_2 = dlvsym(h, "tc_get", "TOKENCACHE_0.2");
	ck_assert(open_ != NULL && close_ != NULL && get_0_1 != NULL &&
	    get_0_2 != NULL);
	ck_assert_int_eq(open_(&c, dir), 0);	/* no daemon there */
	memset(&old, 0xA5, sizeof(old));
	memcpy(copy, &old, sizeof(old));
	ck_assert_int_eq(get_0_1(c, "svc", buf, sizeof(buf), &old),
	    TC_ENOCACHE);
	ck_assert(memcmp(copy, &old, sizeof(old)) == 0);
	ck_assert_int_eq(get_0_1(c, "svc", buf, sizeof(buf), NULL),
	    TC_ENOCACHE);
	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(get_0_2(c, "svc", buf, sizeof(buf), &info),
	    TC_EINVAL);
	info.size = sizeof(info);
	ck_assert_int_eq(get_0_2(c, "svc", buf, sizeof(buf), &info),
	    TC_ENOCACHE);
	close_(c);
	ck_assert_int_eq(dlclose(h), 0);
	tu_rmtree(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dlopen");
	TCase *tc = tcase_create("shared object");

	tcase_add_test(tc, test_exports);
	tcase_add_test(tc, test_dynamic_symbols_are_the_script);
	tcase_add_test(tc, test_versions_of_tc_get);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
