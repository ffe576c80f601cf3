import { describe, expect, it } from "vitest";
import { parseJsonBody } from "./payload.ts";

describe("parseJsonBody", () => {
  it("parses plain JSON as JSON.parse does", () => {
    const text = '{"a":[1,-2.5e3,null,true,"x"],"b":{}}';
    expect(parseJsonBody(text)).toEqual(JSON.parse(text));
  });

  it("reads NaN outside strings as null and ±Infinity as ±Infinity, as Python's json writes them", () => {
    expect(parseJsonBody('{"a": NaN, "b": [NaN, 1, Infinity, -Infinity]}')).toEqual({
      a: null,
      b: [null, 1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    });
    expect(parseJsonBody("NaN")).toBeNull();
  });

  it("leaves the tokens inside strings alone, escaped quotes included", () => {
    expect(parseJsonBody('{"NaN": "NaN", "s": "say \\"NaN\\" Infinity", "v": NaN}')).toEqual({
      NaN: "NaN",
      s: 'say "NaN" Infinity',
      v: null,
    });
  });

  it("still throws for bodies that are not JSON around the tokens", () => {
    for (const text of ["NaNa", "-NaN", "[1 NaN]", "{NaN: 1}", '"NaN', "Infinityx", "+Infinity"])
      expect(() => parseJsonBody(text), text).toThrow(SyntaxError);
  });
});
