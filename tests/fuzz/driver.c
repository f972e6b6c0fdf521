/*
 * driver.c - run a libFuzzer target without libFuzzer, for `make check`:
 * every file of the corpus directories given, then a fixed number of
 * deterministic mutations of them (byte flips, truncations, splices).
 * `make fuzz` builds the same targets against the real libFuzzer.
 *
 *   fuzz_X DIR_OR_FILE... [-runs=N]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t size;
};

static struct input *inputs;
static size_t ninputs;

static void
add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct input in;
	long n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	in.size = (size_t)n;
	in.data = malloc(in.size + 1);
	if (in.data == NULL || fread(in.data, 1, in.size, f) != in.size)
		exit(2);
	fclose(f);
	inputs = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	if (inputs == NULL)
		exit(2);
	inputs[ninputs++] = in;
}

static void
add_path(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[4096];
	DIR *d;

	if (stat(path, &st) == -1) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		exit(2);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		add_path(sub);
	}
	closedir(d);
}

/* xorshift: the same mutations on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int
main(int argc, char *argv[])
{
	static uint8_t buf[1 << 16];
	long runs = 2000, r;
	size_t i, n;
	int a;

	for (a = 1; a < argc; a++) {
		if (strncmp(argv[a], "-runs=", 6) == 0)
			runs = atol(argv[a] + 6);
		else
			add_path(argv[a]);
	}
	if (ninputs == 0) {
		fprintf(stderr, "%s: no corpus\n", argv[0]);
		return 2;
	}
	for (i = 0; i < ninputs; i++)
		LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].size);
	for (r = 0; r < runs; r++) {
		struct input *in = &inputs[next() % ninputs];
		struct input *in2 = &inputs[next() % ninputs];

		n = in->size < sizeof(buf) ? in->size : sizeof(buf);
		memcpy(buf, in->data, n);
		switch (next() % 4) {
		case 0:		/* flip a few bytes */
			for (i = 0; n > 0 && i < 1 + next() % 4; i++)
				buf[next() % n] ^= (uint8_t)(1 + next() % 255);
			break;
		case 1:		/* truncate */
			n = n > 0 ? next() % n : 0;
			break;
		case 2:		/* splice in part of another input */
			if (in2->size > 0 && n > 0) {
				size_t at = next() % n, len = next() % in2->size;

				if (at + len > sizeof(buf))
					len = sizeof(buf) - at;
				memcpy(buf + at, in2->data, len);
				if (at + len > n)
					n = at + len;
			}
			break;
		default:	/* insert a random byte */
			if (n < sizeof(buf)) {
				size_t at = n > 0 ? next() % n : 0;

				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (uint8_t)next();
				n++;
			}
			break;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%s: %zu corpus inputs and %ld mutations, no crash\n", argv[0],
	    ninputs, runs);
	return 0;
}
