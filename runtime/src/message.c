/* Fixed-size error messages for model contexts (see kiln/glue.h): never allocates or prints. */
#define _POSIX_C_SOURCE 200809L
#include "kiln/glue.h"
#include "kiln/runtime.h"

#include <stdio.h>
#include <string.h>

/* Marks a cut message with "..." so a reader knows text is missing. */
static void mark_truncated(kiln_message *message) {
  memcpy(message->text + KILN_MESSAGE_CAPACITY - 4, "...", 4);
}

void kiln_message_clear(kiln_message *message) {
  if (message != NULL)
    message->text[0] = '\0';
}

int kiln_message_fail(kiln_message *message, int status, const char *format, ...) {
  va_list args;
  int written;
  if (message == NULL)
    return status;
  if (format == NULL) {
    message->text[0] = '\0';
    return status;
  }
  va_start(args, format);
  written = vsnprintf(message->text, KILN_MESSAGE_CAPACITY, format, args);
  va_end(args);
  if (written < 0)
    message->text[0] = '\0';
  else if (written >= KILN_MESSAGE_CAPACITY)
    mark_truncated(message);
  return status;
}

void kiln_message_append(kiln_message *message, const char *text) {
  size_t used, length;
  if (message == NULL || text == NULL)
    return;
  length = strlen(text);
  while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
    --length;
  if (length == 0)
    return;
  used = strnlen(message->text, KILN_MESSAGE_CAPACITY - 1);
  message->text[used] = '\0';
  if (used > 0) {
    if (used + 2 >= KILN_MESSAGE_CAPACITY - 1) {
      mark_truncated(message);
      return;
    }
    memcpy(message->text + used, "; ", 2);
    used += 2;
  }
  if (used + length >= KILN_MESSAGE_CAPACITY) {
    memcpy(message->text + used, text, KILN_MESSAGE_CAPACITY - 1 - used);
    message->text[KILN_MESSAGE_CAPACITY - 1] = '\0';
    mark_truncated(message);
    return;
  }
  memcpy(message->text + used, text, length);
  message->text[used + length] = '\0';
}
