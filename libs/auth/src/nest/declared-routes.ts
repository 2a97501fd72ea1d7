import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { accessRuleOf, type AccessRule } from './access.decorator.js';

export interface DeclaredRoute {
  controller: string;
  handler: string;
  method: string;
  /** Express-style path, e.g. `/api/v1/clusters/:id`. */
  path: string;
  rule: AccessRule | undefined;
}

/** Every HTTP route of an application with the access rule it declares. */
export function declaredRoutes(app: INestApplication): DeclaredRoute[] {
  // Metadata only: a Reflector of its own works in Nest's preview mode too, where none is created.
  const reflector = new Reflector();
  const routes: DeclaredRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const prefix = (Reflect.getMetadata(PATH_METADATA, controller) as string | undefined) ?? '';
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        if (name === 'constructor') continue;
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue; // not an HTTP route (bus handlers)
        for (const one of Array.isArray(path) ? path : [path]) {
          const full = `/${[prefix, one].map((part) => part.replace(/^\/|\/$/g, '')).filter((part) => part !== '').join('/')}`;
          routes.push({ controller: controller.name, handler: name, method: RequestMethod[method], path: full, rule: accessRuleOf(reflector, { getHandler: () => handler, getClass: () => controller as never }) });
        }
      }
    }
  }
  return routes;
}
