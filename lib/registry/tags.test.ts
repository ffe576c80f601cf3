import { describe, expect, it } from "vitest";
import {
  assignmentTag,
  bumpSemVer,
  deprecationTag,
  deregistrationTag,
  formatTagMessage,
  nextCounter,
  parseSemVer,
  parseTag,
  parseTagMessage,
  registrationTag,
  unassignmentTag,
} from "./tags.ts";

describe("GTO tag names", () => {
  it("round-trips every kind of tag through its parser", () => {
    expect(parseTag(registrationTag("house-price", "v1.2.0"))).toEqual({
      action: "register",
      artifact: "house-price",
      version: "v1.2.0",
    });
    expect(parseTag(deregistrationTag("house-price", "v1.2.0", 7))).toEqual({
      action: "deregister",
      artifact: "house-price",
      version: "v1.2.0",
      counter: 7,
    });
    expect(parseTag(assignmentTag("house-price", "production", 5))).toEqual({
      action: "assign",
      artifact: "house-price",
      stage: "production",
      counter: 5,
    });
    expect(parseTag(unassignmentTag("house-price", "staging", 6))).toEqual({
      action: "unassign",
      artifact: "house-price",
      stage: "staging",
      counter: 6,
    });
    expect(parseTag(deprecationTag("house-price", 8))).toEqual({
      action: "deprecate",
      artifact: "house-price",
      counter: 8,
    });
  });

  it("writes the exact strings GTO writes", () => {
    expect(registrationTag("house-price", "v1.0.0")).toBe("house-price@v1.0.0");
    expect(assignmentTag("house-price", "production", 3)).toBe("house-price#production#3");
    expect(unassignmentTag("house-price", "production", 4)).toBe("house-price#production!#4");
    expect(deregistrationTag("house-price", "v1.0.0", 5)).toBe("house-price@v1.0.0!#5");
    expect(deprecationTag("house-price", 6)).toBe("house-price@deprecated#6");
  });

  it("rejects names that are not GTO tags", () => {
    for (const name of [
      "v1.0.0",
      "house-price",
      "House-Price@v1.0.0",
      "house-price@1.0.0",
      "house-price#Prod#1",
      "house-price#prod#x",
    ]) {
      expect(parseTag(name), name).toBeNull();
    }
  });

  it("counts #N per artifact across every kind of counted tag", () => {
    const names = [
      "house-price@v1.0.0",
      "house-price#staging#1",
      "house-price#production#4",
      "house-price@v1.0.0!#2",
      "other-model#production#9",
    ];
    expect(nextCounter("house-price", names)).toBe(5);
    expect(nextCounter("other-model", names)).toBe(10);
    expect(nextCounter("new-model", names)).toBe(1);
  });
});

describe("versions and messages", () => {
  it("bumps major and minor versions from the parsed one", () => {
    const version = parseSemVer("v2.3.4");
    expect(version).toEqual({ major: 2, minor: 3, patch: 4 });
    if (!version) return;
    expect(bumpSemVer(version, "major")).toEqual({ major: 3, minor: 0, patch: 0 });
    expect(bumpSemVer(version, "minor")).toEqual({ major: 2, minor: 4, patch: 0 });
    expect(parseSemVer("v1.0")).toBeNull();
  });

  it("keeps a readable first line and a JSON block in tag messages", () => {
    const message = formatTagMessage("Registering artifact house-price version v1.0.0", {
      a: [1, 2],
    });
    expect(message.split("\n")[0]).toBe("Registering artifact house-price version v1.0.0");
    expect(parseTagMessage(message)).toEqual({
      summary: "Registering artifact house-price version v1.0.0",
      data: { a: [1, 2] },
    });
    expect(parseTagMessage("Registering artifact nn version v0.0.1\n")).toEqual({
      summary: "Registering artifact nn version v0.0.1",
      data: null,
    });
  });
});
