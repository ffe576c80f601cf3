/** An input problem the user must fix: the message says what, where and what is expected. */
export class InputError extends Error {}
