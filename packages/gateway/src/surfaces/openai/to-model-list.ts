/** `GET /v1/models` (https://platform.openai.com/docs/api-reference/models/list). */
export function toModelList(
  models: readonly { id: string; ownedBy: string }[],
  created: number,
): { object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] } {
  return {
    object: 'list',
    data: models.map((m) => ({ id: m.id, object: 'model', created, owned_by: m.ownedBy })),
  };
}
