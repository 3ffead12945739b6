/* safetensors checkpoints (see kiln/checkpoint.h): an atomic writer and a strict reader whose
 * JSON parser accepts exactly the subset safetensors headers use. */
#define _POSIX_C_SOURCE 200809L
#include "kiln/runtime.h"
#include "kiln/glue.h"
#include "kiln/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The safetensors format's own bound on the header. */
#define MAX_HEADER_BYTES ((uint64_t)100 * 1000 * 1000)

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* "[6, 1, 5, 5]" into `out` (room for KILN_MAX_RANK dimensions). */
static void format_shape(char *out, size_t size, int rank, const int64_t *shape) {
  size_t used = 0;
  int i;
  used += (size_t)snprintf(out, size, "[");
  for (i = 0; i < rank && used < size; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (used < size)
    snprintf(out + used, size - used, "]");
}

static int64_t element_count(const kiln_tensor_info *info) { return kiln_tensor_info_element_count(info); }

static int check_tensors(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                         kiln_message *message) {
  int i, j;
  if (path == NULL)
    return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT, "checkpoint path is NULL");
  if (num_tensors < 0 || (num_tensors > 0 && tensors == NULL))
    return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT,
                             "checkpoint '%s': the tensor list is NULL or has a negative count", path);
  for (i = 0; i < num_tensors; ++i) {
    if (tensors[i].info == NULL || tensors[i].info->name == NULL || tensors[i].data == NULL ||
        element_count(tensors[i].info) < 0)
      return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT,
                               "checkpoint '%s': tensor %d has no name, shape or data", path, i);
    for (j = 0; j < i; ++j)
      if (strcmp(tensors[i].info->name, tensors[j].info->name) == 0)
        return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT,
                                 "checkpoint '%s': tensor name '%s' is used twice", path, tensors[i].info->name);
  }
  return KILN_OK;
}

static int check_metadata(const char *path, const kiln_checkpoint_metadata *metadata, int num_metadata,
                          kiln_message *message) {
  int i;
  if (num_metadata < 0 || (num_metadata > 0 && metadata == NULL))
    return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT,
                             "checkpoint '%s': the metadata list is NULL or has a negative count", path);
  for (i = 0; i < num_metadata; ++i)
    if (metadata[i].key == NULL)
      return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT, "checkpoint '%s': metadata %d has no key",
                               path, i);
  return KILN_OK;
}

/* check_tensors, then check_metadata: what writing and reading both require of their arguments. */
static int check_arguments(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                           const kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message) {
  int status = check_tensors(path, tensors, num_tensors, message);
  return status != KILN_OK ? status : check_metadata(path, metadata, num_metadata, message);
}

/* ---- Writing ----------------------------------------------------------------------------- */

/* A growable text buffer; `failed` is set when an allocation fails (later appends do nothing). */
typedef struct text_buffer {
  char *data;
  size_t size, capacity;
  int failed;
} text_buffer;

static void append_bytes(text_buffer *text, const char *bytes, size_t length) {
  if (text->failed)
    return;
  if (text->size + length + 1 > text->capacity) {
    size_t capacity = text->capacity ? text->capacity : 256;
    char *grown;
    while (text->size + length + 1 > capacity)
      capacity *= 2;
    grown = (char *)realloc(text->data, capacity);
    if (grown == NULL) {
      text->failed = 1;
      return;
    }
    text->data = grown;
    text->capacity = capacity;
  }
  memcpy(text->data + text->size, bytes, length);
  text->size += length;
  text->data[text->size] = '\0';
}

static void append_text(text_buffer *text, const char *s) { append_bytes(text, s, strlen(s)); }

static void append_json_string(text_buffer *text, const char *s) {
  char escape[8];
  append_text(text, "\"");
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      escape[0] = '\\';
      escape[1] = (char)c;
      append_bytes(text, escape, 2);
    } else if (c < 0x20) {
      snprintf(escape, sizeof escape, "\\u%04x", c);
      append_text(text, escape);
    } else {
      append_bytes(text, (const char *)&c, 1);
    }
  }
  append_text(text, "\"");
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static void build_header(text_buffer *text, const kiln_checkpoint_tensor *tensors, int num_tensors,
                         const kiln_checkpoint_metadata *metadata, int num_metadata) {
  char number[64];
  uint64_t offset = 0;
  int i, d;
  append_text(text, "{");
  for (i = 0; i < num_tensors; ++i) {
    const kiln_tensor_info *info = tensors[i].info;
    uint64_t bytes = (uint64_t)element_count(info) * 4;
    append_text(text, i ? "," : "");
    append_json_string(text, info->name);
    append_text(text, ":{\"dtype\":\"F32\",\"shape\":[");
    for (d = 0; d < info->rank; ++d) {
      snprintf(number, sizeof number, "%s%lld", d ? "," : "", (long long)info->shape[d]);
      append_text(text, number);
    }
    snprintf(number, sizeof number, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
             (unsigned long long)(offset + bytes));
    append_text(text, number);
    offset += bytes;
  }
  if (num_metadata > 0) {
    append_text(text, num_tensors ? ",\"__metadata__\":{" : "\"__metadata__\":{");
    for (i = 0; i < num_metadata; ++i) {
      append_text(text, i ? "," : "");
      append_json_string(text, metadata[i].key);
      append_text(text, ":");
      append_json_string(text, metadata[i].value);
    }
    append_text(text, "}");
  }
  append_text(text, "}");
  while (!text->failed && text->size % 8 != 0)
    append_text(text, " ");
}

/* Flushes the directory holding `path` so that a rename in it survives a crash (best effort). */
static void sync_parent_directory(const char *path) {
  const char *slash = strrchr(path, '/');
  char *directory;
  int fd;
  if (slash == NULL) {
    fd = open(".", O_RDONLY);
  } else {
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    directory = (char *)malloc(length + 1);
    if (directory == NULL)
      return;
    memcpy(directory, path, length);
    directory[length] = '\0';
    fd = open(directory, O_RDONLY);
    free(directory);
  }
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int kiln_checkpoint_write(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                          const kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message) {
  text_buffer header = {NULL, 0, 0, 0};
  unsigned char length_bytes[8];
  char *tmp_path;
  FILE *file;
  int status, i, saved_errno = 0;
  uint64_t length;

  status = check_arguments(path, tensors, num_tensors, metadata, num_metadata, message);
  if (status != KILN_OK)
    return status;
  if (!host_is_little_endian())
    return kiln_message_fail(message, KILN_ERROR_UNSUPPORTED,
                             "checkpoint '%s': writing checkpoints needs a little-endian host", path);

  build_header(&header, tensors, num_tensors, metadata, num_metadata);
  tmp_path = (char *)malloc(strlen(path) + 5);
  if (header.failed || tmp_path == NULL) {
    free(header.data);
    free(tmp_path);
    return kiln_message_fail(message, KILN_ERROR_OUT_OF_MEMORY, "checkpoint '%s': out of memory", path);
  }
  strcpy(tmp_path, path);
  strcat(tmp_path, ".tmp");

  file = fopen(tmp_path, "wb");
  if (file == NULL) {
    saved_errno = errno;
    status = kiln_message_fail(message, KILN_ERROR_IO, "cannot write checkpoint '%s': cannot create '%s': %s",
                               path, tmp_path, strerror(saved_errno));
    free(header.data);
    free(tmp_path);
    return status;
  }
  length = header.size;
  for (i = 0; i < 8; ++i)
    length_bytes[i] = (unsigned char)(length >> (8 * i));
  status = fwrite(length_bytes, 1, 8, file) == 8 && fwrite(header.data, 1, header.size, file) == header.size;
  for (i = 0; status && i < num_tensors; ++i) {
    size_t count = (size_t)element_count(tensors[i].info);
    status = fwrite(tensors[i].data, sizeof(float), count, file) == count;
  }
  if (status)
    status = fflush(file) == 0 && fsync(fileno(file)) == 0;
  if (!status)
    saved_errno = errno;
  if (fclose(file) != 0 && status) {
    status = 0;
    saved_errno = errno;
  }
  if (status && rename(tmp_path, path) != 0) {
    status = 0;
    saved_errno = errno;
  }
  free(header.data);
  if (!status) {
    remove(tmp_path);
    status = kiln_message_fail(message, KILN_ERROR_IO, "cannot write checkpoint '%s': %s (the previous file, "
                               "if any, is unchanged)", path, strerror(saved_errno));
    free(tmp_path);
    return status;
  }
  free(tmp_path);
  sync_parent_directory(path);
  return KILN_OK;
}

/* ---- The header parser ------------------------------------------------------------------ */

/* One tensor entry of a parsed header. `name` and `dtype` point into the header text. */
typedef struct header_entry {
  const char *name;
  const char *dtype;
  int rank;
  int64_t shape[KILN_MAX_RANK];
  uint64_t begin, end;
} header_entry;

/* The parser over the header text, which it decodes in place (strings become NUL-terminated). */
typedef struct json_parser {
  char *text;
  size_t size, pos;
  char error[160];
  header_entry *entries;
  int num_entries, capacity;
} json_parser;

static int parse_error(json_parser *p, const char *what) {
  snprintf(p->error, sizeof p->error, "%s at byte %lu of the header", what, (unsigned long)p->pos);
  return 0;
}

static void skip_space(json_parser *p) {
  while (p->pos < p->size && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n' ||
                              p->text[p->pos] == '\r'))
    ++p->pos;
}

static int expect_char(json_parser *p, char c) {
  char what[32];
  skip_space(p);
  if (p->pos >= p->size || p->text[p->pos] != c) {
    snprintf(what, sizeof what, "expected '%c'", c);
    return parse_error(p, what);
  }
  ++p->pos;
  return 1;
}

/* Consumes `c` if it comes next (after spaces). */
static int accept_char(json_parser *p, char c) {
  skip_space(p);
  if (p->pos < p->size && p->text[p->pos] == c) {
    ++p->pos;
    return 1;
  }
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int parse_hex4(json_parser *p, unsigned *code) {
  int i, digit;
  *code = 0;
  if (p->pos + 4 > p->size)
    return parse_error(p, "truncated \\u escape");
  for (i = 0; i < 4; ++i) {
    digit = hex_value(p->text[p->pos + (size_t)i]);
    if (digit < 0)
      return parse_error(p, "bad \\u escape");
    *code = *code * 16 + (unsigned)digit;
  }
  p->pos += 4;
  return 1;
}

/* Writes `code` as UTF-8 at `out`; returns the number of bytes (at most 4, never more than the
 * 6 or 12 bytes of the escape it came from). */
static size_t put_utf8(char *out, unsigned code) {
  if (code < 0x80) {
    out[0] = (char)code;
    return 1;
  }
  if (code < 0x800) {
    out[0] = (char)(0xc0 | (code >> 6));
    out[1] = (char)(0x80 | (code & 0x3f));
    return 2;
  }
  if (code < 0x10000) {
    out[0] = (char)(0xe0 | (code >> 12));
    out[1] = (char)(0x80 | ((code >> 6) & 0x3f));
    out[2] = (char)(0x80 | (code & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (code >> 18));
  out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((code >> 6) & 0x3f));
  out[3] = (char)(0x80 | (code & 0x3f));
  return 4;
}

/* A JSON string, decoded in place; *out points to it (NUL-terminated). Decoded text is never
 * longer than its source, so it fits where the source was, terminator included. */
static int parse_string(json_parser *p, const char **out) {
  char *start, *write;
  if (!expect_char(p, '"'))
    return 0;
  start = write = p->text + p->pos;
  for (;;) {
    char c;
    if (p->pos >= p->size)
      return parse_error(p, "unterminated string");
    c = p->text[p->pos++];
    if (c == '"')
      break;
    if ((unsigned char)c < 0x20)
      return parse_error(p, "control character in a string");
    if (c != '\\') {
      *write++ = c;
      continue;
    }
    if (p->pos >= p->size)
      return parse_error(p, "unterminated string");
    c = p->text[p->pos++];
    switch (c) {
    case '"': case '\\': case '/': *write++ = c; break;
    case 'b': *write++ = '\b'; break;
    case 'f': *write++ = '\f'; break;
    case 'n': *write++ = '\n'; break;
    case 'r': *write++ = '\r'; break;
    case 't': *write++ = '\t'; break;
    case 'u': {
      unsigned code, low;
      if (!parse_hex4(p, &code))
        return 0;
      if (code >= 0xdc00 && code < 0xe000)
        return parse_error(p, "lone low surrogate in a \\u escape");
      if (code >= 0xd800 && code < 0xdc00) {
        if (p->pos + 2 > p->size || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
          return parse_error(p, "high surrogate without a low one");
        p->pos += 2;
        if (!parse_hex4(p, &low))
          return 0;
        if (low < 0xdc00 || low >= 0xe000)
          return parse_error(p, "high surrogate without a low one");
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      }
      if (code == 0)
        return parse_error(p, "NUL character in a string");
      write += put_utf8(write, code);
      break;
    }
    default:
      return parse_error(p, "bad escape in a string");
    }
  }
  *write = '\0';
  *out = start;
  return 1;
}

/* A non-negative integer without sign, fraction or exponent. */
static int parse_count(json_parser *p, uint64_t *value) {
  size_t start;
  skip_space(p);
  start = p->pos;
  *value = 0;
  while (p->pos < p->size && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
    unsigned digit = (unsigned)(p->text[p->pos] - '0');
    if (*value > (UINT64_MAX - digit) / 10)
      return parse_error(p, "number too large");
    *value = *value * 10 + digit;
    ++p->pos;
  }
  if (p->pos == start)
    return parse_error(p, "expected a non-negative integer");
  if (p->pos - start > 1 && p->text[start] == '0')
    return parse_error(p, "number with a leading zero");
  return 1;
}

/* [n, ...] with at most `max` entries. */
static int parse_counts(json_parser *p, uint64_t *values, int max, int *count) {
  *count = 0;
  if (!expect_char(p, '['))
    return 0;
  if (accept_char(p, ']'))
    return 1;
  do {
    if (*count == max)
      return parse_error(p, "too many numbers in a list");
    if (!parse_count(p, &values[(*count)++]))
      return 0;
  } while (accept_char(p, ','));
  return expect_char(p, ']');
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} in any order, nothing else. */
static int parse_tensor_entry(json_parser *p, header_entry *entry) {
  int have_dtype = 0, have_shape = 0, have_offsets = 0, count, d;
  uint64_t numbers[KILN_MAX_RANK];
  const char *key;
  if (!expect_char(p, '{'))
    return 0;
  do {
    if (!parse_string(p, &key) || !expect_char(p, ':'))
      return 0;
    if (strcmp(key, "dtype") == 0 && !have_dtype) {
      if (!parse_string(p, &entry->dtype))
        return 0;
      have_dtype = 1;
    } else if (strcmp(key, "shape") == 0 && !have_shape) {
      if (!parse_counts(p, numbers, KILN_MAX_RANK, &count))
        return 0;
      entry->rank = count;
      for (d = 0; d < count; ++d) {
        if (numbers[d] > (uint64_t)INT64_MAX)
          return parse_error(p, "dimension too large");
        entry->shape[d] = (int64_t)numbers[d];
      }
      have_shape = 1;
    } else if (strcmp(key, "data_offsets") == 0 && !have_offsets) {
      if (!parse_counts(p, numbers, 2, &count))
        return 0;
      if (count != 2)
        return parse_error(p, "data_offsets must hold two numbers");
      entry->begin = numbers[0];
      entry->end = numbers[1];
      have_offsets = 1;
    } else {
      return parse_error(p, "unexpected or repeated key in a tensor entry");
    }
  } while (accept_char(p, ','));
  if (!expect_char(p, '}'))
    return 0;
  if (!have_dtype || !have_shape || !have_offsets)
    return parse_error(p, "a tensor entry lacks dtype, shape or data_offsets");
  return 1;
}

/* {"key": "value", ...}: stores the values `metadata` asks for. */
static int parse_metadata(json_parser *p, kiln_checkpoint_metadata *metadata, int num_metadata) {
  const char *key, *value;
  int i;
  if (!expect_char(p, '{'))
    return 0;
  if (accept_char(p, '}'))
    return 1;
  do {
    if (!parse_string(p, &key) || !expect_char(p, ':') || !parse_string(p, &value))
      return 0;
    for (i = 0; i < num_metadata; ++i) {
      if (strcmp(metadata[i].key, key) != 0)
        continue;
      if (strlen(value) >= KILN_CHECKPOINT_VALUE_CAPACITY)
        return parse_error(p, "metadata value too long");
      strcpy(metadata[i].value, value);
      metadata[i].found = 1;
    }
  } while (accept_char(p, ','));
  return expect_char(p, '}');
}

static int parse_header(json_parser *p, kiln_checkpoint_metadata *metadata, int num_metadata) {
  const char *name;
  int have_metadata = 0, i;
  if (!expect_char(p, '{'))
    return 0;
  if (!accept_char(p, '}')) {
    do {
      if (!parse_string(p, &name) || !expect_char(p, ':'))
        return 0;
      if (strcmp(name, "__metadata__") == 0) {
        if (have_metadata)
          return parse_error(p, "__metadata__ appears twice");
        have_metadata = 1;
        if (!parse_metadata(p, metadata, num_metadata))
          return 0;
        continue;
      }
      for (i = 0; i < p->num_entries; ++i)
        if (strcmp(p->entries[i].name, name) == 0)
          return parse_error(p, "a tensor name appears twice");
      if (p->num_entries == p->capacity) {
        int capacity = p->capacity ? 2 * p->capacity : 64;
        header_entry *grown = (header_entry *)realloc(p->entries, (size_t)capacity * sizeof *grown);
        if (grown == NULL)
          return parse_error(p, "out of memory");
        p->entries = grown;
        p->capacity = capacity;
      }
      memset(&p->entries[p->num_entries], 0, sizeof *p->entries);
      p->entries[p->num_entries].name = name;
      if (!parse_tensor_entry(p, &p->entries[p->num_entries]))
        return 0;
      ++p->num_entries;
    } while (accept_char(p, ','));
    if (!expect_char(p, '}'))
      return 0;
  }
  skip_space(p);
  if (p->pos != p->size)
    return parse_error(p, "text after the closing '}'");
  return 1;
}

/* ---- Reading ------------------------------------------------------------------------------ */

static const kiln_checkpoint_tensor *find_tensor(const kiln_checkpoint_tensor *tensors, int num_tensors,
                                                 const char *name) {
  int i;
  for (i = 0; i < num_tensors; ++i)
    if (strcmp(tensors[i].info->name, name) == 0)
      return &tensors[i];
  return NULL;
}

/* Checks the parsed entries against the expected tensors and metadata. */
static int match_header(const char *path, const json_parser *p, uint64_t data_size,
                        const kiln_checkpoint_tensor *tensors, int num_tensors,
                        const kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message) {
  char found[256], expected[256];
  int i, j;
  for (i = 0; i < num_metadata; ++i)
    if (metadata[i].expected != NULL && metadata[i].found && strcmp(metadata[i].value, metadata[i].expected) != 0)
      return kiln_message_fail(message, KILN_ERROR_SHAPE_MISMATCH,
                               "checkpoint '%s' has %s \"%s\", this model needs \"%s\"", path, metadata[i].key,
                               metadata[i].value, metadata[i].expected);
  for (i = 0; i < p->num_entries; ++i) {
    const header_entry *entry = &p->entries[i];
    const kiln_checkpoint_tensor *tensor = find_tensor(tensors, num_tensors, entry->name);
    uint64_t bytes;
    if (tensor == NULL)
      return kiln_message_fail(message, KILN_ERROR_SHAPE_MISMATCH,
                               "checkpoint '%s': tensor '%s' is not one of this model's %d tensors (a checkpoint "
                               "of another model?)", path, entry->name, num_tensors);
    if (strcmp(entry->dtype, "F32") != 0)
      return kiln_message_fail(message, KILN_ERROR_SHAPE_MISMATCH,
                               "checkpoint '%s': tensor '%s' has dtype %s, the model expects F32 (convert it "
                               "with tensor.float() before saving)", path, entry->name, entry->dtype);
    format_shape(found, sizeof found, entry->rank, entry->shape);
    format_shape(expected, sizeof expected, tensor->info->rank, tensor->info->shape);
    if (strcmp(found, expected) != 0)
      return kiln_message_fail(message, KILN_ERROR_SHAPE_MISMATCH,
                               "checkpoint '%s': tensor '%s' has shape %s, the model expects %s", path, entry->name,
                               found, expected);
    bytes = (uint64_t)element_count(tensor->info) * 4;
    if (entry->end < entry->begin || entry->end - entry->begin != bytes)
      return kiln_message_fail(message, KILN_ERROR_IO,
                               "checkpoint '%s' is corrupt: tensor '%s' has data_offsets [%llu, %llu], its shape "
                               "needs %llu bytes", path, entry->name, (unsigned long long)entry->begin,
                               (unsigned long long)entry->end, (unsigned long long)bytes);
    if (entry->end > data_size)
      return kiln_message_fail(message, KILN_ERROR_IO,
                               "checkpoint '%s' is truncated: tensor '%s' ends at byte %llu of the data, which "
                               "has only %llu bytes", path, entry->name, (unsigned long long)entry->end,
                               (unsigned long long)data_size);
  }
  for (j = 0; j < num_tensors; ++j) {
    for (i = 0; i < p->num_entries; ++i)
      if (strcmp(p->entries[i].name, tensors[j].info->name) == 0)
        break;
    if (i == p->num_entries) {
      format_shape(expected, sizeof expected, tensors[j].info->rank, tensors[j].info->shape);
      return kiln_message_fail(message, KILN_ERROR_SHAPE_MISMATCH,
                               "checkpoint '%s' lacks tensor '%s' (shape %s), which the model needs", path,
                               tensors[j].info->name, expected);
    }
  }
  return KILN_OK;
}

/* Reads each tensor's bytes [begin, end) of the data part starting at `data_start`. */
static int read_data(const char *path, FILE *file, uint64_t data_start, const json_parser *p,
                     const kiln_checkpoint_tensor *tensors, int num_tensors, kiln_message *message) {
  int i;
  for (i = 0; i < p->num_entries; ++i) {
    const kiln_checkpoint_tensor *tensor = find_tensor(tensors, num_tensors, p->entries[i].name);
    size_t count = (size_t)element_count(tensor->info);
    if (fseeko(file, (off_t)(data_start + p->entries[i].begin), SEEK_SET) != 0 ||
        fread(tensor->data, sizeof(float), count, file) != count)
      return kiln_message_fail(message, KILN_ERROR_IO, "cannot read tensor '%s' of checkpoint '%s': %s",
                               p->entries[i].name, path, ferror(file) ? strerror(errno) : "the file is truncated");
  }
  return KILN_OK;
}

int kiln_checkpoint_read(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                         kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message) {
  json_parser parser;
  unsigned char length_bytes[8];
  uint64_t header_length = 0, file_size;
  FILE *file;
  off_t end;
  int status, i;

  status = check_arguments(path, tensors, num_tensors, metadata, num_metadata, message);
  if (status != KILN_OK)
    return status;
  for (i = 0; i < num_metadata; ++i) {
    metadata[i].value[0] = '\0';
    metadata[i].found = 0;
  }
  if (!host_is_little_endian())
    return kiln_message_fail(message, KILN_ERROR_UNSUPPORTED,
                             "checkpoint '%s': reading checkpoints needs a little-endian host", path);

  file = fopen(path, "rb");
  if (file == NULL)
    return kiln_message_fail(message, KILN_ERROR_IO, "cannot open checkpoint '%s': %s", path, strerror(errno));
  if (fseeko(file, 0, SEEK_END) != 0 || (end = ftello(file)) < 0 || fseeko(file, 0, SEEK_SET) != 0) {
    status = kiln_message_fail(message, KILN_ERROR_IO, "cannot read checkpoint '%s': %s", path, strerror(errno));
    fclose(file);
    return status;
  }
  file_size = (uint64_t)end;
  if (file_size < 8 || fread(length_bytes, 1, 8, file) != 8) {
    fclose(file);
    return kiln_message_fail(message, KILN_ERROR_IO,
                             "checkpoint '%s' is truncated or not a safetensors file: it has %llu bytes, fewer "
                             "than the 8 of the header length", path, (unsigned long long)file_size);
  }
  for (i = 7; i >= 0; --i)
    header_length = header_length << 8 | length_bytes[i];
  if (header_length < 2 || header_length > MAX_HEADER_BYTES) {
    fclose(file);
    return kiln_message_fail(message, KILN_ERROR_IO,
                             "checkpoint '%s' is not a safetensors file: its first 8 bytes give a header length "
                             "of %llu", path, (unsigned long long)header_length);
  }
  if (file_size - 8 < header_length) {
    fclose(file);
    return kiln_message_fail(message, KILN_ERROR_IO,
                             "checkpoint '%s' is truncated: its header needs %llu bytes, the file has %llu after "
                             "the length", path, (unsigned long long)header_length,
                             (unsigned long long)(file_size - 8));
  }

  memset(&parser, 0, sizeof parser);
  parser.size = (size_t)header_length;
  parser.text = (char *)malloc(parser.size + 1);
  if (parser.text == NULL) {
    fclose(file);
    return kiln_message_fail(message, KILN_ERROR_OUT_OF_MEMORY, "checkpoint '%s': out of memory for its header",
                             path);
  }
  if (fread(parser.text, 1, parser.size, file) != parser.size) {
    status = kiln_message_fail(message, KILN_ERROR_IO, "cannot read the header of checkpoint '%s': %s", path,
                               ferror(file) ? strerror(errno) : "the file is truncated");
  } else if (!parse_header(&parser, metadata, num_metadata)) {
    status = kiln_message_fail(message, KILN_ERROR_IO, "checkpoint '%s' is not a safetensors file: %s", path,
                               parser.error);
  } else {
    status = match_header(path, &parser, file_size - 8 - header_length, tensors, num_tensors, metadata,
                          num_metadata, message);
    if (status == KILN_OK)
      status = read_data(path, file, 8 + header_length, &parser, tensors, num_tensors, message);
  }
  free(parser.entries);
  free(parser.text);
  fclose(file);
  return status;
}
