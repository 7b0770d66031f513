/** Reading synthesized templates: one resource of a type, and the order CloudFormation creates resources in. */
import { Template } from 'aws-cdk-lib/assertions';

/** The one resource of a type: [logical id, resource]. */
export function only(template: Template, type: string): [string, any] {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0];
}

/** Every resource a resource waits for: DependsOn, Ref and Fn::GetAtt. */
export function directDependencies(template: Template, id: string): Set<string> {
  const resource = template.toJSON().Resources[id];
  const found = new Set<string>(resource.DependsOn ?? []);
  const walk = (value: any): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    if (typeof value.Ref === 'string') found.add(value.Ref);
    if (Array.isArray(value['Fn::GetAtt'])) found.add(value['Fn::GetAtt'][0]);
    Object.values(value).forEach(walk);
  };
  walk(resource.Properties);
  return found;
}

/** Whether CloudFormation creates `to` before `from` (a path of dependencies). */
export function waitsFor(template: Template, from: string, to: string): boolean {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const next of directDependencies(template, id)) {
      if (next === to) return true;
      if (!seen.has(next) && template.toJSON().Resources[next]) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}
