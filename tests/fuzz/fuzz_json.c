/*
 * fuzz_json.c - the JSON member reader on hostile input, as a token
 * endpoint or an SMTP server could send it.
 *
 * Properties: input that json_number finds malformed, json_string and
 * json_text find malformed too (the verdict is on the object, whatever
 * the key and the value's type); a string found holds no
 * control character and is no longer than the input; json_text finds
 * what json_string finds; a number found lies in 0..10^9.
 */
#include "autoconf.h"

#include "json.h"
#include "util.h"

#include "fuzz.h"

static const char *const keys[] = {
	"access_token", "expires_in", "error", "status", "a"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *str, *text;
	size_t i;
	long n;
	int rs, rt, rn;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rs = json_string(s, size, keys[i], &str);
		rt = json_text(s, size, keys[i], &text);
		rn = json_number(s, size, keys[i], &n);
		FUZZ_ASSERT(rn != -1 || (rs == -1 && rt == -1),
		    "number -1 but string %d, text %d", rs, rt);
		if (rs == 1) {
			FUZZ_ASSERT(!has_ctl(str) && strlen(str) <= size,
			    "string with control characters or too long");
			FUZZ_ASSERT(rt == 1 && strcmp(str, text) == 0,
			    "json_text differs");
		}
		if (rn == 1)
			FUZZ_ASSERT(n >= 0 && n <= 1000000000L, "number %ld",
			    n);
		free(str);
		free(text);
	}
	return 0;
}
