// What `stoq connect` and `stoq serve` say on a stream. The first byte says what the
// stream is for; a file stream ends with the server's receipt so the client can
// prove the bytes arrived intact.
export const KIND_FILE = 0x46; // 'F': client sends bytes, server answers one JSON Receipt and ends
export const KIND_ECHO = 0x45; // 'E': server sends every byte back

export interface Receipt {
  bytes: number;
  sha256: string;
}
