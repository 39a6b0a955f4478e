/** Previous/next paging of a list the API answers a page at a time (`limit`, `offset`,
 * `hasMore`), with the range on screen. */
export function Pager({
  offset,
  size,
  page,
  onChange,
}: {
  offset: number;
  size: number;
  /** The page on screen (none while it loads). */
  page: { items: unknown[]; hasMore: boolean } | undefined;
  onChange: (offset: number) => void;
}) {
  const shown = page?.items.length ?? 0;
  const hasMore = Boolean(page?.hasMore);
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - size))}>
        Previous page
      </button>
      <span>{shown > 0 ? `${offset + 1}–${offset + shown}` : ""}</span>
      <button type="button" disabled={!hasMore} onClick={() => onChange(offset + size)}>
        Next page
      </button>
    </div>
  );
}
