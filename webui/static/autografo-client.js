// The client module under its first name; new code imports autografo.js.
export * from "./autografo.js";
