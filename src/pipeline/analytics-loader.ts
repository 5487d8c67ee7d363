import { SourceAnalytics, type AnalyticsConfig } from '../track/analytics.js';

export type AnalyticsLike = Pick<SourceAnalytics, 'update' | 'counts' | 'overlay' | 'finish'>;

/** Tracking, counting and speed per source (src/track). */
export async function loadAnalytics(cfg: AnalyticsConfig): Promise<AnalyticsLike> {
  return new SourceAnalytics(cfg);
}
